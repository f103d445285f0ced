// `ark convert`: see convert.h.
#include "convert.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"

#ifndef ARK_CONVERT_PYTHONPATH
#define ARK_CONVERT_PYTHONPATH ""
#endif

namespace ark::cli {
namespace {

constexpr char kDefaultPython[] = "/usr/bin/python3";
constexpr char kConvertModule[] = "ark._convert_main";

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

}  // namespace

CLI::App* AddConvertCommand(CLI::App& app, ConvertOptions& options) {
  CLI::App* cmd = app.add_subcommand(
      "convert",
      "Convert a pickle, joblib or skops file to .ark; refuse (and write nothing) when\n"
      "it names anything dangerous or untrusted");
  cmd->add_option("SRC", options.source, "pickle / joblib / skops file")->required();
  cmd->add_option("DST", options.destination, ".ark file to write")->required();
  cmd->add_option("--compress", options.compress,
                  "zstd, zlib or lzma, with an optional level: zstd-19, lzma-9 (default: none)");
  cmd->add_option("--trust", options.trusted,
                  "trust this type (as named in the refusal); repeatable")
      ->allow_extra_args(false);
  cmd->add_flag("-q,--quiet", options.quiet, "print nothing on success");
  cmd->footer(
      "\nExit status: 0 converted; 1 refused, unknown types (or another error);\n"
      "2 refused, dangerous names; 3 unreadable or not convertible.");
  return cmd;
}

int RunConvert(const ConvertOptions& options) {
  const std::string python = EnvOr("ARK_PYTHON", kDefaultPython);
  const std::string python_path = EnvOr("ARK_PYTHONPATH", ARK_CONVERT_PYTHONPATH);
  std::vector<std::string> args = {python, "-m", kConvertModule, options.source,
                                   options.destination};
  if (!options.compress.empty()) {
    args.push_back("--compress");
    args.push_back(options.compress);
  }
  for (const std::string& name : options.trusted) {
    args.push_back("--trust");
    args.push_back(name);
  }
  if (options.quiet) args.push_back("--quiet");

  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  std::cout.flush();
  const pid_t pid = fork();
  if (pid < 0) {
    std::cerr << "ark convert: cannot start " << python << ": " << std::strerror(errno) << "\n";
    return kExitError;
  }
  if (pid == 0) {
    if (!python_path.empty()) {
      // ark's package first; the caller's own path after it, so that the
      // modules of types named with --trust can still be imported.
      std::string value = python_path;
      const char* existing = std::getenv("PYTHONPATH");
      if (existing != nullptr && *existing != '\0') value += std::string(":") + existing;
      setenv("PYTHONPATH", value.c_str(), 1);
    }
    execv(argv[0], argv.data());
    std::cerr << "ark convert: cannot run " << python << ": " << std::strerror(errno)
              << " (set ARK_PYTHON to an interpreter with numpy and scikit-learn)\n";
    _exit(kExitError);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      std::cerr << "ark convert: " << std::strerror(errno) << "\n";
      return kExitError;
    }
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  std::cerr << "ark convert: the converter was killed by signal " << WTERMSIG(status) << "\n";
  return kExitError;
}

}  // namespace ark::cli
