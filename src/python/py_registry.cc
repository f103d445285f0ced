// _ark.Registry: ark::registry::Registry for Python.
//
// A thin handle: every method converts its arguments, releases the GIL for
// the C++ call (which may wait on SQLite's lock, hash or fsync gigabytes),
// and converts the result back into plain Python values: model, version and
// audit records become dicts (python/ark/_registry.py wraps them in frozen
// dataclasses). ark::Error raises the _ark exception of its code
// (py_errors.cc).
//
// Lifetime: close() drops the C++ registry; a call already running on
// another thread keeps it alive until it returns (each call holds its own
// reference), later calls raise ValueError. Thread safety: the C++ registry
// serialises calls internally, so Python threads may share one handle.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ark/registry/registry.h"
#include "py_common.h"

namespace ark::python {
namespace {

using py::literals::operator""_a;
namespace reg = ark::registry;

py::dict StringMap(const std::map<std::string, std::string>& map) {
  py::dict out;
  for (const auto& [key, value] : map) out[py::str(key)] = py::str(value);
  return out;
}

// Registry strings are UTF-8 from the database, but artifacts' metadata and
// user-set values pass through unchecked: decode leniently so that one odd
// byte cannot make a record unreadable.
py::str Text(const std::string& text) {
  PyObject* decoded =
      PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "replace");
  if (decoded == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(decoded);
}

py::dict ModelToDict(const reg::ModelInfo& model) {
  py::dict aliases;
  for (const auto& [alias, version] : model.aliases) aliases[py::str(alias)] = version;
  return py::dict("name"_a = Text(model.name), "description"_a = Text(model.description),
                  "tags"_a = StringMap(model.tags), "aliases"_a = aliases,
                  "latest_version"_a = model.latest_version, "created_ms"_a = model.created_ms,
                  "updated_ms"_a = model.updated_ms);
}

py::dict VersionToDict(const reg::VersionInfo& v) {
  py::dict metrics;
  for (const auto& [key, value] : v.metrics) metrics[py::str(key)] = value;
  py::list aliases;
  for (const std::string& alias : v.aliases) aliases.append(Text(alias));
  return py::dict("name"_a = Text(v.name), "version"_a = v.version, "label"_a = Text(v.label),
                  "description"_a = Text(v.description), "digest"_a = v.digest,
                  "content_sha256"_a = v.content_sha256, "model_digest"_a = v.model_digest,
                  "size"_a = v.size, "new_bytes"_a = v.new_bytes, "stage"_a = v.stage,
                  "status"_a = v.status, "tags"_a = StringMap(v.tags), "metrics"_a = metrics,
                  "metadata_json"_a = Text(v.metadata_json), "aliases"_a = aliases,
                  "data_fingerprint"_a = v.data_fingerprint, "source_ref"_a = Text(v.source_ref),
                  "parent_version"_a = v.parent_version, "created_by"_a = Text(v.created_by),
                  "created_ms"_a = v.created_ms);
}

py::list VersionsToList(const std::vector<reg::VersionInfo>& versions) {
  py::list out;
  for (const reg::VersionInfo& v : versions) out.append(VersionToDict(v));
  return out;
}

py::dict EventToDict(const reg::AuditEvent& e) {
  return py::dict("id"_a = e.id, "time_ms"_a = e.time_ms, "actor"_a = Text(e.actor),
                  "action"_a = e.action, "model"_a = Text(e.model), "version"_a = e.version,
                  "before"_a = Text(e.before), "after"_a = Text(e.after),
                  "reason"_a = Text(e.reason));
}

py::dict UriToDict(const reg::ModelUri& uri) {
  return py::dict("name"_a = uri.name, "version"_a = uri.version, "alias"_a = uri.alias,
                  "stage"_a = uri.stage, "latest"_a = uri.latest);
}

class PyRegistry {
  // Runs fn(registry) without the GIL. The shared_ptr copy, taken while the
  // GIL is held, keeps the registry alive if another thread closes it.
  template <typename Fn>
  auto Call(Fn&& fn) {
    if (!impl_) throw py::value_error("the registry is closed");
    std::shared_ptr<reg::Registry> registry = impl_;
    py::gil_scoped_release release;
    return fn(*registry);
  }

 public:
  PyRegistry(const py::object& path, bool create) {
    std::string where = FsPath(path);
    py::gil_scoped_release release;
    impl_ = reg::Registry::Open(where, create);
  }

  void Close() { impl_.reset(); }
  bool closed() const { return impl_ == nullptr; }

  py::dict Register(const std::string& name, const py::object& ark_path,
                    const std::string& description, const std::map<std::string, std::string>& tags,
                    const std::string& label, const std::string& source_ref,
                    const std::string& data_fingerprint, int64_t parent_version,
                    const std::string& actor) {
    reg::RegisterOptions options;
    options.description = description;
    options.tags = tags;
    options.label = label;
    options.source_ref = source_ref;
    options.data_fingerprint = data_fingerprint;
    options.parent_version = parent_version;
    options.actor = actor;
    std::string path = FsPath(ark_path);
    return VersionToDict(Call([&](reg::Registry& r) { return r.Register(name, path, options); }));
  }

  py::list ListModels() {
    std::vector<reg::ModelInfo> models = Call([](reg::Registry& r) { return r.ListModels(); });
    py::list out;
    for (const reg::ModelInfo& model : models) out.append(ModelToDict(model));
    return out;
  }
  py::dict GetModel(const std::string& name) {
    return ModelToDict(Call([&](reg::Registry& r) { return r.GetModel(name); }));
  }
  py::list ListVersions(const std::string& name, bool include_deleted) {
    return VersionsToList(
        Call([&](reg::Registry& r) { return r.ListVersions(name, include_deleted); }));
  }
  py::dict GetVersion(const std::string& name, int64_t version) {
    return VersionToDict(Call([&](reg::Registry& r) { return r.GetVersion(name, version); }));
  }
  py::dict Resolve(const std::string& uri) {
    return VersionToDict(
        Call([&](reg::Registry& r) { return r.Resolve(reg::ParseModelUri(uri)); }));
  }

  void SetAlias(const std::string& name, const std::string& alias, int64_t version,
                const std::string& reason, const std::string& actor) {
    Call([&](reg::Registry& r) { r.SetAlias(name, alias, version, reason, actor); });
  }
  void DeleteAlias(const std::string& name, const std::string& alias, const std::string& reason,
                   const std::string& actor) {
    Call([&](reg::Registry& r) { r.DeleteAlias(name, alias, reason, actor); });
  }
  void SetStage(const std::string& name, int64_t version, const std::string& stage,
                bool archive_existing, const std::string& reason, const std::string& actor) {
    Call([&](reg::Registry& r) {
      r.SetStage(name, version, stage, archive_existing, reason, actor);
    });
  }
  void SetTag(const std::string& name, int64_t version, const std::string& key,
              const std::string& value, const std::string& actor) {
    Call([&](reg::Registry& r) { r.SetTag(name, version, key, value, actor); });
  }
  void DeleteTag(const std::string& name, int64_t version, const std::string& key,
                 const std::string& actor) {
    Call([&](reg::Registry& r) { r.DeleteTag(name, version, key, actor); });
  }
  void SetDescription(const std::string& name, int64_t version, const std::string& description,
                      const std::string& actor) {
    Call([&](reg::Registry& r) { r.SetDescription(name, version, description, actor); });
  }
  void Delete(const std::string& name, int64_t version, const std::string& reason,
              const std::string& actor) {
    Call([&](reg::Registry& r) { r.Delete(name, version, reason, actor); });
  }
  py::dict Gc() {
    reg::Registry::GcResult result = Call([](reg::Registry& r) { return r.Gc(); });
    return py::dict("pieces_removed"_a = result.pieces_removed,
                    "bytes_freed"_a = result.bytes_freed);
  }

  py::list Search(const std::string& filter, const std::string& order_by, int64_t max_results,
                  int64_t offset, bool include_deleted) {
    reg::SearchOptions options;
    options.filter = filter;
    options.order_by = order_by;
    options.max_results = max_results;
    options.offset = offset;
    options.include_deleted = include_deleted;
    return VersionsToList(Call([&](reg::Registry& r) { return r.Search(options); }));
  }
  py::list History(const std::string& name, int64_t limit) {
    std::vector<reg::AuditEvent> events =
        Call([&](reg::Registry& r) { return r.History(name, limit); });
    py::list out;
    for (const reg::AuditEvent& e : events) out.append(EventToDict(e));
    return out;
  }

  void Get(const std::string& name, int64_t version, const py::object& out_path) {
    std::string path = FsPath(out_path);
    Call([&](reg::Registry& r) { r.Get(name, version, path); });
  }
  std::string Materialize(const std::string& name, int64_t version) {
    return Call([&](reg::Registry& r) { return r.Materialize(name, version); });
  }
  void Export(const std::string& name, const std::vector<int64_t>& versions,
              const py::object& tar_path) {
    std::string path = FsPath(tar_path);
    Call([&](reg::Registry& r) { r.Export(name, versions, path); });
  }
  py::list Import(const py::object& tar_path, const std::string& actor) {
    std::string path = FsPath(tar_path);
    return VersionsToList(Call([&](reg::Registry& r) { return r.Import(path, actor); }));
  }

 private:
  std::shared_ptr<reg::Registry> impl_;
};

}  // namespace

void RegisterRegistry(py::module_& m) {
  py::class_<PyRegistry>(m, "Registry",
                         "A model registry folder (ark::registry::Registry). Records are dicts.")
      .def(py::init<const py::object&, bool>(), "path"_a, "create"_a = false)
      .def_static("default_path", &reg::Registry::DefaultPath,
                  "$ARK_REGISTRY, else ./ark-registry.")
      .def("close", &PyRegistry::Close)
      .def_property_readonly("closed", &PyRegistry::closed)
      .def("register", &PyRegistry::Register, "name"_a, "ark_path"_a, "description"_a = "",
           "tags"_a = std::map<std::string, std::string>{}, "label"_a = "", "source_ref"_a = "",
           "data_fingerprint"_a = "", "parent_version"_a = 0, "actor"_a = "")
      .def("list_models", &PyRegistry::ListModels)
      .def("get_model", &PyRegistry::GetModel, "name"_a)
      .def("list_versions", &PyRegistry::ListVersions, "name"_a, "include_deleted"_a = false)
      .def("get_version", &PyRegistry::GetVersion, "name"_a, "version"_a)
      .def("resolve", &PyRegistry::Resolve, "uri"_a, "A models:/ URI -> its live version.")
      .def("set_alias", &PyRegistry::SetAlias, "name"_a, "alias"_a, "version"_a, "reason"_a = "",
           "actor"_a = "")
      .def("delete_alias", &PyRegistry::DeleteAlias, "name"_a, "alias"_a, "reason"_a = "",
           "actor"_a = "")
      .def("set_stage", &PyRegistry::SetStage, "name"_a, "version"_a, "stage"_a,
           "archive_existing"_a = false, "reason"_a = "", "actor"_a = "")
      .def("set_tag", &PyRegistry::SetTag, "name"_a, "version"_a, "key"_a, "value"_a,
           "actor"_a = "")
      .def("delete_tag", &PyRegistry::DeleteTag, "name"_a, "version"_a, "key"_a, "actor"_a = "")
      .def("set_description", &PyRegistry::SetDescription, "name"_a, "version"_a, "description"_a,
           "actor"_a = "")
      .def("delete", &PyRegistry::Delete, "name"_a, "version"_a = 0, "reason"_a = "",
           "actor"_a = "")
      .def("gc", &PyRegistry::Gc)
      .def("search", &PyRegistry::Search, "filter"_a = "", "order_by"_a = "", "max_results"_a = 100,
           "offset"_a = 0, "include_deleted"_a = false)
      .def("history", &PyRegistry::History, "name"_a = "", "limit"_a = 0)
      .def("get", &PyRegistry::Get, "name"_a, "version"_a, "out_path"_a)
      .def("materialize", &PyRegistry::Materialize, "name"_a, "version"_a)
      .def("export", &PyRegistry::Export, "name"_a, "versions"_a, "tar_path"_a)
      .def("import_bundle", &PyRegistry::Import, "tar_path"_a, "actor"_a = "");
  m.def(
      "parse_model_uri", [](const std::string& uri) { return UriToDict(reg::ParseModelUri(uri)); },
      "uri"_a,
      "models:/<name>/<version>|@<alias>|/<stage>|/latest -> dict; InvalidArgumentError "
      "when malformed.");
  m.def("is_model_uri", &reg::IsModelUri, "text"_a);
}

}  // namespace ark::python
