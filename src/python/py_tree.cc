// Object trees and JSON sections crossing between Python and C++.
//
// Trees: Python values <-> ark::model::Value (FORMAT.md §5), plus the marker
// classes Object, ArrayRef and Ref. Sections: JSON-compatible Python <->
// nlohmann::ordered_json. Both directions run on trees of many thousands of
// nodes, so they walk the CPython objects directly (exact type checks,
// borrowed references, no intermediate copies) and build an error path only
// when there is an error to report. No Python code runs during a walk, which
// is what makes the borrowed references safe.
#include <cmath>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ark/format/error.h"
#include "ark/format/limits.h"
#include "py_common.h"

namespace ark::python {
namespace {

using model::Kind;
using model::Value;
using Json = nlohmann::ordered_json;

// Exact types of the markers, captured at registration so the hot path is a
// pointer comparison. The classes are final, so exact is complete.
PyTypeObject* g_object_type = nullptr;
PyTypeObject* g_array_ref_type = nullptr;
PyTypeObject* g_ref_type = nullptr;

// One step from a parent to a child, linked on the C++ stack. Formatted into
// a string like "root['a'][3].state" only when an error is raised.
struct PathStep {
  enum class Kind { kRoot, kIndex, kKey, kDictKey, kAttr };
  const PathStep* parent = nullptr;
  Kind kind = Kind::kRoot;
  Py_ssize_t index = 0;
  PyObject* key = nullptr;     // borrowed; kKey, kDictKey
  const char* text = nullptr;  // kRoot: the name; kAttr: the attribute
};

std::string ReprOf(PyObject* obj) {
  PyObject* repr = PyObject_Repr(obj);
  if (repr == nullptr) {
    PyErr_Clear();
    return "<unprintable key>";
  }
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(repr, &size);
  std::string out = data ? std::string(data, static_cast<size_t>(size)) : "<key>";
  if (!data) PyErr_Clear();
  Py_DECREF(repr);
  constexpr size_t kMaxKeyRepr = 60;
  if (out.size() > kMaxKeyRepr) out = out.substr(0, kMaxKeyRepr) + "...";
  return out;
}

std::string FormatPath(const PathStep* step) {
  std::vector<const PathStep*> steps;
  for (; step != nullptr; step = step->parent) steps.push_back(step);
  // Deep paths (a runaway nesting) keep their head and tail readable.
  constexpr size_t kMaxShown = 24;
  constexpr size_t kEnds = kMaxShown / 2;
  std::string out;
  size_t position = 0;
  for (auto it = steps.rbegin(); it != steps.rend(); ++it, ++position) {
    if (steps.size() > kMaxShown && position >= kEnds && position < steps.size() - kEnds) {
      if (position == kEnds) out += "...";
      continue;
    }
    const PathStep& s = **it;
    switch (s.kind) {
      case PathStep::Kind::kRoot:
        out += s.text;
        break;
      case PathStep::Kind::kIndex:
        out += "[" + std::to_string(s.index) + "]";
        break;
      case PathStep::Kind::kKey:
        out += "[" + ReprOf(s.key) + "]";
        break;
      case PathStep::Kind::kDictKey:
        out += " (the key " + ReprOf(s.key) + ")";
        break;
      case PathStep::Kind::kAttr:
        out += ".";
        out += s.text;
        break;
    }
  }
  return out;
}

[[noreturn]] void ThrowDepth(const PathStep* path) {
  throw py::value_error("nested deeper than the format's limit of " +
                        std::to_string(format::kMaxJsonDepth) + " JSON levels at " +
                        FormatPath(path) + " (does a container contain itself?)");
}

std::string Utf8Of(PyObject* str, const PathStep* path) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(str, &size);
  if (data == nullptr) {
    PyErr_Clear();
    throw py::value_error("string at " + FormatPath(path) +
                          " cannot be encoded as UTF-8 (it holds a lone surrogate)");
  }
  return std::string(data, static_cast<size_t>(size));
}

std::string BuiltinHint(PyObject* obj) {
  const char* base = nullptr;
  if (PyBool_Check(obj)) {
    base = "bool";
  } else if (PyLong_Check(obj)) {
    base = "int";
  } else if (PyFloat_Check(obj)) {
    base = "float";
  } else if (PyUnicode_Check(obj)) {
    base = "str";
  } else if (PyBytes_Check(obj)) {
    base = "bytes";
  } else if (PyList_Check(obj)) {
    base = "list";
  } else if (PyTuple_Check(obj)) {
    base = "tuple";
  } else if (PyDict_Check(obj)) {
    base = "dict";
  }
  if (base == nullptr) return "";
  return std::string(" (a subclass of ") + base + "; convert it to a plain " + base +
         " or store it as an Object)";
}

// ---------------------------------------------------------------------------
// Python -> Value

class TreeReader {
 public:
  // `depth`: JSON containers enclosing this value in the manifest.
  Value Convert(PyObject* obj, const PathStep* path, int depth) {
    PyTypeObject* type = Py_TYPE(obj);
    if (obj == Py_None) return Value::Null();
    if (type == &PyBool_Type) return Value::Bool(obj == Py_True);
    if (type == &PyLong_Type) return ConvertInt(obj, path, depth);
    if (type == &PyFloat_Type) {
      double d = PyFloat_AS_DOUBLE(obj);
      if (!std::isfinite(d)) Open(1, path, depth);  // {"$float": ...}
      return Value::Float(d);
    }
    if (type == &PyUnicode_Type) return Value::String(Utf8Of(obj, path));
    if (type == &PyBytes_Type) {
      Open(1, path, depth);
      return Value::Bytes(
          std::string(PyBytes_AS_STRING(obj), static_cast<size_t>(PyBytes_GET_SIZE(obj))));
    }
    if (type == &PyList_Type) {
      Open(1, path, depth);
      return Value::List(ConvertItems(obj, PyList_GET_SIZE(obj), &ListItem, path, depth + 1));
    }
    if (type == &PyTuple_Type) {
      Open(2, path, depth);
      return Value::Tuple(ConvertItems(obj, PyTuple_GET_SIZE(obj), &TupleItem, path, depth + 2));
    }
    if (type == &PyDict_Type) return ConvertDict(obj, path, depth);
    if (type == g_object_type) {
      Open(1, path, depth);
      const auto& marker = py::handle(obj).cast<const ObjectMarker&>();
      PathStep step{path, PathStep::Kind::kAttr, 0, nullptr, "state"};
      return Value::Object(marker.type_name, Convert(marker.state.ptr(), &step, depth + 1),
                           marker.id);
    }
    if (type == g_array_ref_type) {
      Open(1, path, depth);
      return Value::Array(py::handle(obj).cast<const ArrayRefMarker&>().index);
    }
    if (type == g_ref_type) {
      Open(1, path, depth);
      return Value::Ref(py::handle(obj).cast<const RefMarker&>().id);
    }
    throw py::type_error("cannot store a " + TypeName(obj) + " at " + FormatPath(path) +
                         BuiltinHint(obj) +
                         ": a tree holds only None, bool, int, float, str, bytes, list, tuple, "
                         "dict and the markers Object, ArrayRef, Ref");
  }

 private:
  // Borrowed item access with a uniform signature for lists and tuples.
  static PyObject* ListItem(PyObject* seq, Py_ssize_t i) { return PyList_GET_ITEM(seq, i); }
  static PyObject* TupleItem(PyObject* seq, Py_ssize_t i) { return PyTuple_GET_ITEM(seq, i); }

  static void Open(int containers, const PathStep* path, int depth) {
    if (depth + containers > format::kMaxJsonDepth) ThrowDepth(path);
  }

  Value ConvertInt(PyObject* obj, const PathStep* path, int depth) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (overflow == 0) {
      if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
      return Value::Int(static_cast<int64_t>(v));
    }
    Open(1, path, depth);  // {"$int": "..."}
    // str(int) is canonical decimal: optional '-', no leading zeros.
    PyObject* text = PyObject_Str(obj);
    if (text == nullptr) throw py::error_already_set();
    py::object owned = py::reinterpret_steal<py::object>(text);
    return Value::BigInt(Utf8Of(text, path));
  }

  std::vector<Value> ConvertItems(PyObject* seq, Py_ssize_t n,
                                  PyObject* (*item)(PyObject*, Py_ssize_t), const PathStep* path,
                                  int depth) {
    std::vector<Value> items;
    items.reserve(static_cast<size_t>(n));
    for (Py_ssize_t i = 0; i < n; ++i) {
      PathStep step{path, PathStep::Kind::kIndex, i, nullptr, nullptr};
      items.push_back(Convert(item(seq, i), &step, depth));
    }
    return items;
  }

  Value ConvertDict(PyObject* dict, const PathStep* path, int depth) {
    // Plain JSON objects need str keys not starting with '$'; anything else is
    // a {"$dict": [[k, v], ...]}, three containers deep.
    bool plain = true;
    Py_ssize_t pos = 0;
    PyObject* key = nullptr;
    PyObject* value = nullptr;
    while (plain && PyDict_Next(dict, &pos, &key, &value)) {
      if (Py_TYPE(key) != &PyUnicode_Type) {
        plain = false;
      } else if (PyUnicode_GET_LENGTH(key) > 0 && PyUnicode_READ_CHAR(key, 0) == '$') {
        plain = false;
      }
    }
    int child_depth = depth + (plain ? 1 : 3);
    Open(plain ? 1 : 3, path, depth);
    std::vector<std::pair<Value, Value>> items;
    items.reserve(static_cast<size_t>(PyDict_GET_SIZE(dict)));
    pos = 0;
    while (PyDict_Next(dict, &pos, &key, &value)) {
      PathStep key_step{path, PathStep::Kind::kDictKey, 0, key, nullptr};
      PathStep value_step{path, PathStep::Kind::kKey, 0, key, nullptr};
      Value k = Convert(key, &key_step, child_depth);
      items.emplace_back(std::move(k), Convert(value, &value_step, child_depth));
    }
    return Value::Dict(std::move(items));
  }
};

// ---------------------------------------------------------------------------
// Value -> Python

// Dict keys and type names repeat across a model (every tree node has the
// same few keys); sharing one str object per distinct short string saves both
// the decoding and the memory.
class StrCache {
 public:
  PyObject* Get(const std::string& s) {
    constexpr size_t kMaxCached = 64;
    if (s.size() > kMaxCached) return NewStr(s);
    auto it = cache_.find(std::string_view(s));
    if (it != cache_.end()) return it->second.inc_ref().ptr();
    PyObject* str = NewStr(s);
    // The key views the Value's string, which outlives this cache.
    cache_.emplace(std::string_view(s), py::reinterpret_borrow<py::object>(str));
    return str;
  }

  static PyObject* NewStr(const std::string& s) {
    PyObject* str = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "strict");
    if (str == nullptr) throw py::error_already_set();
    return str;
  }

 private:
  std::unordered_map<std::string_view, py::object> cache_;
};

class TreeWriter {
 public:
  // Returns a new reference.
  PyObject* Convert(const Value& v) {
    switch (v.kind()) {
      case Kind::kNull:
        Py_RETURN_NONE;
      case Kind::kBool:
        if (v.as_bool()) Py_RETURN_TRUE;
        Py_RETURN_FALSE;
      case Kind::kInt:
        return Check(PyLong_FromLongLong(v.as_int()));
      case Kind::kBigInt:
        return Check(PyLong_FromString(v.as_string().c_str(), nullptr, 10));
      case Kind::kFloat:
        return Check(PyFloat_FromDouble(v.as_float()));  // keeps NaN payload bits
      case Kind::kString:
        return strings_.Get(v.as_string());
      case Kind::kBytes:
        return Check(PyBytes_FromStringAndSize(v.as_string().data(),
                                               static_cast<Py_ssize_t>(v.as_string().size())));
      case Kind::kList: {
        const auto& items = v.items();
        py::object list = Steal(PyList_New(static_cast<Py_ssize_t>(items.size())));
        for (size_t i = 0; i < items.size(); ++i) {
          PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(i), Convert(items[i]));
        }
        return list.release().ptr();
      }
      case Kind::kTuple: {
        const auto& items = v.items();
        py::object tuple = Steal(PyTuple_New(static_cast<Py_ssize_t>(items.size())));
        for (size_t i = 0; i < items.size(); ++i) {
          PyTuple_SET_ITEM(tuple.ptr(), static_cast<Py_ssize_t>(i), Convert(items[i]));
        }
        return tuple.release().ptr();
      }
      case Kind::kDict:
        return ConvertDict(v);
      case Kind::kObject: {
        py::object state = Steal(Convert(v.state()));
        ObjectMarker marker{v.type_name(), std::move(state), v.object_id()};
        return py::cast(std::move(marker)).release().ptr();
      }
      case Kind::kArray:
        return py::cast(ArrayRefMarker{v.blob_index()}).release().ptr();
      case Kind::kRef:
        return py::cast(RefMarker{v.ref_id()}).release().ptr();
    }
    throw Error(ErrorCode::kBadManifest, "object tree holds a value of unknown kind");
  }

 private:
  static PyObject* Check(PyObject* obj) {
    if (obj == nullptr) throw py::error_already_set();
    return obj;
  }
  static py::object Steal(PyObject* obj) { return py::reinterpret_steal<py::object>(Check(obj)); }

  PyObject* ConvertDict(const Value& v) {
    py::object dict = Steal(PyDict_New());
    for (const auto& [key, value] : v.dict_items()) {
      py::object k = Steal(key.is(Kind::kString) ? strings_.Get(key.as_string()) : Convert(key));
      py::object val = Steal(Convert(value));
      if (PyDict_SetItem(dict.ptr(), k.ptr(), val.ptr()) != 0) {
        if (!PyErr_ExceptionMatches(PyExc_TypeError)) throw py::error_already_set();
        PyErr_Clear();
        throw Error(ErrorCode::kBadManifest,
                    std::string("object tree has a dict key Python cannot hash (a ") +
                        model::KindName(key.kind()) + ")");
      }
    }
    return dict.release().ptr();
  }

  StrCache strings_;
};

// ---------------------------------------------------------------------------
// Sections: JSON-compatible Python <-> JSON

class JsonReader {
 public:
  Json Convert(PyObject* obj, const PathStep* path, int depth) {
    if (obj == Py_None) return nullptr;
    if (PyBool_Check(obj)) return obj == Py_True;
    if (PyLong_Check(obj)) return ConvertInt(obj, path);
    if (PyFloat_Check(obj)) {
      double d = PyFloat_AS_DOUBLE(obj);
      if (!std::isfinite(d)) {
        throw py::value_error("cannot store " + ReprOf(obj) + " at " + FormatPath(path) +
                              ": JSON has no NaN or infinity (store such values in the tree, "
                              "or as strings)");
      }
      return d;
    }
    if (PyUnicode_Check(obj)) return Utf8Of(obj, path);
    if (PyList_Check(obj) || PyTuple_Check(obj)) {
      Open(path, depth);
      bool is_list = PyList_Check(obj);
      Py_ssize_t n = is_list ? PyList_GET_SIZE(obj) : PyTuple_GET_SIZE(obj);
      Json out = Json::array();
      out.get_ref<Json::array_t&>().reserve(static_cast<size_t>(n));
      for (Py_ssize_t i = 0; i < n; ++i) {
        PathStep step{path, PathStep::Kind::kIndex, i, nullptr, nullptr};
        PyObject* item = is_list ? PyList_GET_ITEM(obj, i) : PyTuple_GET_ITEM(obj, i);
        out.push_back(Convert(item, &step, depth + 1));
      }
      return out;
    }
    if (PyDict_Check(obj)) {
      Open(path, depth);
      Json out = Json::object();
      // ordered_map is a vector of pairs; Python keys are already unique, so
      // appending skips ordered_map's linear duplicate search per insertion.
      auto& fields = out.get_ref<Json::object_t&>();
      fields.reserve(static_cast<size_t>(PyDict_GET_SIZE(obj)));
      Py_ssize_t pos = 0;
      PyObject* key = nullptr;
      PyObject* value = nullptr;
      while (PyDict_Next(obj, &pos, &key, &value)) {
        PathStep step{path, PathStep::Kind::kKey, 0, key, nullptr};
        if (!PyUnicode_Check(key)) {
          throw py::type_error("section keys must be str, not " + TypeName(key) + ", at " +
                               FormatPath(&step));
        }
        std::string name = Utf8Of(key, &step);
        fields.emplace_back(std::move(name), Convert(value, &step, depth + 1));
      }
      return out;
    }
    throw py::type_error("cannot store a " + TypeName(obj) + " at " + FormatPath(path) +
                         ": sections hold only JSON values (None, bool, int, float, str, list, "
                         "tuple, dict with str keys)");
  }

 private:
  static void Open(const PathStep* path, int depth) {
    if (depth + 1 > format::kMaxJsonDepth) ThrowDepth(path);
  }

  static Json ConvertInt(PyObject* obj, const PathStep* path) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (overflow == 0) {
      if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
      return static_cast<int64_t>(v);
    }
    if (overflow > 0) {
      unsigned long long u = PyLong_AsUnsignedLongLong(obj);
      if (!PyErr_Occurred()) return static_cast<uint64_t>(u);
      PyErr_Clear();
    }
    throw py::value_error("integer at " + FormatPath(path) +
                          " does not fit 64 bits, which is all a JSON section carries; store "
                          "it as a string");
  }
};

PyObject* JsonToPyObject(const Json& j) {
  auto check = [](PyObject* obj) {
    if (obj == nullptr) throw py::error_already_set();
    return obj;
  };
  switch (j.type()) {
    case Json::value_t::null:
    case Json::value_t::discarded:
      Py_RETURN_NONE;
    case Json::value_t::boolean:
      if (j.get<bool>()) Py_RETURN_TRUE;
      Py_RETURN_FALSE;
    case Json::value_t::number_integer:
      return check(PyLong_FromLongLong(j.get<int64_t>()));
    case Json::value_t::number_unsigned:
      return check(PyLong_FromUnsignedLongLong(j.get<uint64_t>()));
    case Json::value_t::number_float:
      return check(PyFloat_FromDouble(j.get<double>()));
    case Json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      return StrCache::NewStr(s);
    }
    case Json::value_t::binary: {
      const auto& b = j.get_binary();
      return check(PyBytes_FromStringAndSize(reinterpret_cast<const char*>(b.data()),
                                             static_cast<Py_ssize_t>(b.size())));
    }
    case Json::value_t::array: {
      py::object list =
          py::reinterpret_steal<py::object>(check(PyList_New(static_cast<Py_ssize_t>(j.size()))));
      Py_ssize_t i = 0;
      for (const auto& item : j) PyList_SET_ITEM(list.ptr(), i++, JsonToPyObject(item));
      return list.release().ptr();
    }
    case Json::value_t::object: {
      py::object dict = py::reinterpret_steal<py::object>(check(PyDict_New()));
      for (const auto& [key, value] : j.items()) {
        py::object k = py::reinterpret_steal<py::object>(StrCache::NewStr(key));
        py::object v = py::reinterpret_steal<py::object>(JsonToPyObject(value));
        if (PyDict_SetItem(dict.ptr(), k.ptr(), v.ptr()) != 0) throw py::error_already_set();
      }
      return dict.release().ptr();
    }
  }
  Py_RETURN_NONE;
}

// ---------------------------------------------------------------------------
// Trust audit of a Python tree

// ark._trust.collect_names' walk (docs/OBJECTS.md §6): returns (set of the
// type names of Object markers but ark.global, list of the distinct states of
// ark.global markers). States that are exact str come first and once each;
// any other state is listed as found, for the caller to refuse. Like the
// Python walk it replaces, it looks into exact lists, tuples, dicts (keys and
// values) and Object states, ignores everything else, and keeps its own
// stack, so a deep tree costs no C stack. No Python code runs during the
// walk, so borrowed references stay valid.
py::tuple CollectNames(py::handle root) {
  std::set<std::string, std::less<>> types;
  py::set string_states;
  py::list other_states;
  std::vector<PyObject*> stack{root.ptr()};
  while (!stack.empty()) {
    PyObject* v = stack.back();
    stack.pop_back();
    PyTypeObject* type = Py_TYPE(v);
    if (type == &PyList_Type) {
      for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); ++i) stack.push_back(PyList_GET_ITEM(v, i));
    } else if (type == &PyTuple_Type) {
      for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(v); ++i) stack.push_back(PyTuple_GET_ITEM(v, i));
    } else if (type == &PyDict_Type) {
      Py_ssize_t pos = 0;
      PyObject* key = nullptr;
      PyObject* value = nullptr;
      while (PyDict_Next(v, &pos, &key, &value)) {
        stack.push_back(key);
        stack.push_back(value);
      }
    } else if (type == g_object_type) {
      const auto& marker = py::handle(v).cast<const ObjectMarker&>();
      if (marker.type_name == model::kGlobalTypeName) {
        if (Py_TYPE(marker.state.ptr()) == &PyUnicode_Type) {
          string_states.add(marker.state);
        } else {
          other_states.append(marker.state);
        }
      } else {
        if (types.find(marker.type_name) == types.end()) types.insert(marker.type_name);
        stack.push_back(marker.state.ptr());
      }
    }
  }
  py::set classes;
  for (const std::string& name : types) classes.add(py::str(name));
  py::list states;
  for (py::handle state : string_states) states.append(state);
  for (py::handle state : other_states) states.append(state);
  return py::make_tuple(classes, states);
}

// ---------------------------------------------------------------------------
// Marker classes

py::object NotImplemented() { return py::reinterpret_borrow<py::object>(Py_NotImplemented); }

std::string ObjectRepr(const ObjectMarker& m) {
  std::string out = "Object(" + py::repr(py::str(m.type_name)).cast<std::string>() + ", " +
                    py::repr(m.state).cast<std::string>();
  if (m.id) out += ", id=" + std::to_string(*m.id);
  return out + ")";
}

}  // namespace

model::Value ValueFromPython(py::handle tree) {
  PathStep root{nullptr, PathStep::Kind::kRoot, 0, nullptr, "root"};
  // The manifest object encloses the root.
  return TreeReader().Convert(tree.ptr(), &root, 1);
}

py::object ValueToPython(const model::Value& value) {
  return py::reinterpret_steal<py::object>(TreeWriter().Convert(value));
}

nlohmann::ordered_json JsonFromPython(py::handle value, const char* name, int depth) {
  PathStep root{nullptr, PathStep::Kind::kRoot, 0, nullptr, name};
  return JsonReader().Convert(value.ptr(), &root, depth);
}

py::object JsonToPython(const nlohmann::ordered_json& json) {
  return py::reinterpret_steal<py::object>(JsonToPyObject(json));
}

std::string TypeName(py::handle obj) {
  py::handle type = py::type::handle_of(obj);
  std::string module = py::str(type.attr("__module__")).cast<std::string>();
  std::string name = py::str(type.attr("__qualname__")).cast<std::string>();
  return module == "builtins" ? name : module + "." + name;
}

void RegisterTree(py::module_& m) {
  using py::literals::operator""_a;

  m.def("collect_names", &CollectNames, "root"_a,
        "(set of Object type names but ark.global, list of the distinct ark.global states) "
        "found in a tree of _ark values, as ark._trust.collect_names walks it.");

  auto object_cls =
      py::class_<ObjectMarker>(m, "Object", py::is_final(),
                               "An object node: a qualified type name, its state (a tree), and "
                               "an optional id that Ref markers point to.")
          .def(py::init([](std::string type_name, py::object state, std::optional<int64_t> id) {
                 return ObjectMarker{std::move(type_name), std::move(state), id};
               }),
               "type_name"_a, "state"_a, "id"_a = py::none())
          .def_readwrite("type_name", &ObjectMarker::type_name)
          .def_readwrite("state", &ObjectMarker::state)
          .def_readwrite("id", &ObjectMarker::id)
          .def("__repr__", &ObjectRepr)
          .def("__eq__",
               [](const ObjectMarker& a, py::handle other) -> py::object {
                 if (Py_TYPE(other.ptr()) != g_object_type) return NotImplemented();
                 const auto& b = other.cast<const ObjectMarker&>();
                 return py::bool_(a.type_name == b.type_name && a.id == b.id &&
                                  a.state.equal(b.state));
               })
          // Hashable so an Object can be a dict key in a tree (a dict keyed
          // by instances); the type name is the part that equality and the
          // mutable id leave stable.
          .def("__hash__", [](const ObjectMarker& a) { return py::hash(py::str(a.type_name)); })
          .def(py::pickle(
              [](const ObjectMarker& a) { return py::make_tuple(a.type_name, a.state, a.id); },
              [](py::tuple t) {
                return ObjectMarker{t[0].cast<std::string>(), t[1],
                                    t[2].cast<std::optional<int64_t>>()};
              }));

  auto array_ref_cls =
      py::class_<ArrayRefMarker>(m, "ArrayRef", py::is_final(),
                                 "A reference to blob `index` of the file.")
          .def(py::init([](uint64_t index) { return ArrayRefMarker{index}; }), "index"_a)
          .def_readonly("index", &ArrayRefMarker::index)
          .def("__repr__",
               [](const ArrayRefMarker& a) { return "ArrayRef(" + std::to_string(a.index) + ")"; })
          .def("__eq__",
               [](const ArrayRefMarker& a, py::handle other) -> py::object {
                 if (Py_TYPE(other.ptr()) != g_array_ref_type) return NotImplemented();
                 return py::bool_(a.index == other.cast<const ArrayRefMarker&>().index);
               })
          .def(
              "__hash__",
              [](const ArrayRefMarker& a) { return py::hash(py::make_tuple("ArrayRef", a.index)); })
          .def(py::pickle([](const ArrayRefMarker& a) { return py::make_tuple(a.index); },
                          [](py::tuple t) { return ArrayRefMarker{t[0].cast<uint64_t>()}; }));

  auto ref_cls =
      py::class_<RefMarker>(m, "Ref", py::is_final(),
                            "A back-reference to the object node whose id is `id`.")
          .def(py::init([](int64_t id) { return RefMarker{id}; }), "id"_a)
          .def_readonly("id", &RefMarker::id)
          .def("__repr__", [](const RefMarker& r) { return "Ref(" + std::to_string(r.id) + ")"; })
          .def("__eq__",
               [](const RefMarker& a, py::handle other) -> py::object {
                 if (Py_TYPE(other.ptr()) != g_ref_type) return NotImplemented();
                 return py::bool_(a.id == other.cast<const RefMarker&>().id);
               })
          .def("__hash__", [](const RefMarker& r) { return py::hash(py::make_tuple("Ref", r.id)); })
          .def(py::pickle([](const RefMarker& r) { return py::make_tuple(r.id); },
                          [](py::tuple t) { return RefMarker{t[0].cast<int64_t>()}; }));

  g_object_type = reinterpret_cast<PyTypeObject*>(object_cls.ptr());
  g_array_ref_type = reinterpret_cast<PyTypeObject*>(array_ref_cls.ptr());
  g_ref_type = reinterpret_cast<PyTypeObject*>(ref_cls.ptr());
}

}  // namespace ark::python
