// numpy dtypes <-> the dtype descriptors of FORMAT.md §4.
//
// Writing: simple dtypes are spelled as numpy's `dtype.str` ("<f8", "|b1",
// "<M8[ns]"); structured dtypes become {"names", "formats", "offsets",
// "itemsize"} with each format a descriptor or a [descriptor, [dims]]
// sub-array. Offsets and itemsize are explicit so padding and aligned layouts
// survive exactly. The format layer validates the result; this file only
// spells it.
//
// Reading: the descriptor comes from an untrusted file. The format layer has
// already validated it, but a dtype that holds Python objects would let file
// bytes be used as object pointers, so that is refused here again, at the
// last point before numpy sees memory.
#include <string>

#include "ark/format/error.h"
#include "py_common.h"

namespace ark::python {
namespace {

using Json = nlohmann::ordered_json;
using py::literals::operator""_a;

std::string Quote(const Json& descr) {
  constexpr size_t kMaxQuoted = 120;
  std::string text = descr.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > kMaxQuoted) text = text.substr(0, kMaxQuoted) + "...";
  return text;
}

Json DimsOf(py::handle shape) {
  Json dims = Json::array();
  for (py::handle d : shape) dims.push_back(d.cast<uint64_t>());
  return dims;
}

py::object Build(const Json& descr) {
  if (descr.is_string()) return py::dtype(descr.get_ref<const std::string&>());
  if (descr.is_object() && descr.contains("names") && descr.contains("formats") &&
      descr.contains("offsets") && descr.contains("itemsize")) {
    py::list names;
    py::list formats;
    py::list offsets;
    for (const auto& name : descr["names"]) names.append(name.get<std::string>());
    for (const auto& format : descr["formats"]) formats.append(Build(format));
    for (const auto& offset : descr["offsets"]) offsets.append(offset.get<uint64_t>());
    py::dict spec("names"_a = names, "formats"_a = formats, "offsets"_a = offsets,
                  "itemsize"_a = descr["itemsize"].get<uint64_t>());
    return py::dtype::from_args(spec);
  }
  if (descr.is_array() && descr.size() == 2 && descr[1].is_array()) {
    py::list dims;
    for (const auto& d : descr[1]) dims.append(d.get<uint64_t>());
    return py::dtype::from_args(py::make_tuple(Build(descr[0]), py::tuple(dims)));
  }
  throw Error(ErrorCode::kUnknownDtype, "unknown dtype " + Quote(descr));
}

}  // namespace

nlohmann::ordered_json DescrFromDtype(py::handle dtype) {
  if (dtype.attr("hasobject").cast<bool>()) {
    throw py::type_error("cannot store an array of dtype " + py::str(dtype).cast<std::string>() +
                         " as a blob: it holds Python objects; store its items in the tree "
                         "instead");
  }
  py::object names = dtype.attr("names");
  if (names.is_none()) {
    if (!dtype.attr("subdtype").is_none()) {
      // numpy expands a sub-array dtype into array dimensions, so only a
      // field can have one; the caller handles fields below.
      throw py::type_error("a sub-array dtype can only be the type of a field");
    }
    return dtype.attr("str").cast<std::string>();
  }
  py::dict fields = dtype.attr("fields");
  Json out_names = Json::array();
  Json formats = Json::array();
  Json offsets = Json::array();
  for (py::handle name : names) {
    py::tuple field = fields[name];
    if (field.size() > 2) {
      throw py::type_error("cannot store dtype " + py::str(dtype).cast<std::string>() +
                           ": field titles are not supported");
    }
    py::object field_dtype = field[0];
    py::object sub = field_dtype.attr("subdtype");
    if (sub.is_none()) {
      formats.push_back(DescrFromDtype(field_dtype));
    } else {
      py::tuple base_and_shape = sub;
      formats.push_back(
          Json::array({DescrFromDtype(base_and_shape[0]), DimsOf(base_and_shape[1])}));
    }
    out_names.push_back(name.cast<std::string>());
    offsets.push_back(field[1].cast<uint64_t>());
  }
  Json out = Json::object();
  out["names"] = std::move(out_names);
  out["formats"] = std::move(formats);
  out["offsets"] = std::move(offsets);
  out["itemsize"] = dtype.attr("itemsize").cast<uint64_t>();
  return out;
}

bool NeedsByteSwap(py::handle dtype) {
  py::object little = dtype.attr("newbyteorder")("<");
  return !dtype.equal(little);
}

py::dtype DtypeFromDescr(const nlohmann::ordered_json& descr) {
  py::object dtype;
  try {
    dtype = Build(descr);
  } catch (py::error_already_set& e) {
    throw Error(ErrorCode::kUnknownDtype,
                "numpy rejects dtype " + Quote(descr) + ": " + std::string(e.what()));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kUnknownDtype, "malformed dtype " + Quote(descr) + ": " + e.what());
  }
  if (dtype.attr("hasobject").cast<bool>()) {
    throw Error(ErrorCode::kUnknownDtype,
                "dtype " + Quote(descr) + " would hold Python objects; refused");
  }
  return py::reinterpret_borrow<py::dtype>(dtype);
}

std::string FsPath(py::handle path) {
  py::bytes encoded = py::module_::import("os").attr("fsencode")(path);
  return encoded.cast<std::string>();
}

}  // namespace ark::python
