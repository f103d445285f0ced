// The `ark` command: parses the command line and dispatches to a subcommand.
//
// Whatever happens below, the process ends with a documented exit status and
// at most a one-line message: the last-resort handlers here turn anything the
// subcommands did not (an allocation failure, a bug) into exit status 1
// rather than a stack trace or an abort.
#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include "ark/format/limits.h"
#include "commands.h"
#include "convert.h"
#include "predict.h"
#include "registry_cmd.h"
#include "scan.h"

namespace {

// Kept in step with project(ark VERSION ...) in CMakeLists.txt.
constexpr char kArkVersion[] = ARK_VERSION;

std::string VersionText() {
  return std::string("ark ") + kArkVersion + " (file format " +
         std::to_string(ark::format::kMajorVersion) + "." +
         std::to_string(ark::format::kMinorVersion) + ")";
}

int Main(int argc, char** argv) {
  CLI::App app{
      "ark: inspect, check and run .ark model files (scikit-learn models stored\n"
      "safely: no code runs on load, every byte is covered by SHA-256).",
      "ark"};
  app.set_version_flag("--version", VersionText(), "Print the version and exit");
  app.require_subcommand(1);
  app.footer(
      std::string("\nExamples:\n"
                  "  ark inspect model.ark           what is inside, and what takes the space\n"
                  "  ark inspect model.ark --json    the same, for scripts\n"
                  "  ark verify model.ark            check every checksum\n"
                  "  ark predict model.ark --input rows.csv   predict natively, no Python\n"
                  "  ark registry --help             versioned registry, models:/ URIs\n"
                  "  ark convert model.joblib model.ark       convert a pickle/joblib file safely\n"
                  "  ark scan models/ --json                  check pickles for code they would run\n"
                  "\nRun 'ark COMMAND --help' for the options of a command.\n\n") +
      ark::cli::kExitCodeHelp);

  ark::cli::InspectOptions inspect_options;
  ark::cli::VerifyOptions verify_options;
  CLI::App* inspect = ark::cli::AddInspectCommand(app, inspect_options);
  CLI::App* verify = ark::cli::AddVerifyCommand(app, verify_options);
  ark::cli::PredictOptions predict_options;
  CLI::App* predict = ark::cli::AddPredictCommand(app, predict_options);
  ark::cli::RegistryOptions registry_options;
  CLI::App* registry = ark::cli::AddRegistryCommand(app, registry_options);
  predict->fallthrough();  // `--registry PATH` after a models:/ URI
  verify->fallthrough();
  ark::cli::ScanOptions scan_options;
  CLI::App* scan = ark::cli::AddScanCommand(app, scan_options);
  ark::cli::ConvertOptions convert_options;
  CLI::App* convert = ark::cli::AddConvertCommand(app, convert_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and --version are "errors" to CLI11 that exit with 0.
    const int status = app.exit(e);
    return status == 0 ? ark::cli::kExitOk : ark::cli::kExitUsage;
  }
  if (inspect->parsed()) return ark::cli::RunInspect(inspect_options);
  if (verify->parsed()) return ark::cli::RunVerify(verify_options);
  if (predict->parsed()) return ark::cli::RunPredict(predict_options);
  if (registry->parsed()) return ark::cli::RunRegistry(registry_options);
  if (scan->parsed()) return ark::cli::RunScan(scan_options);
  if (convert->parsed()) return ark::cli::RunConvert(convert_options);
  std::cerr << "ark: no command given; run 'ark --help'\n";
  return ark::cli::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const ark::Error& e) {
    std::cerr << "ark: " << e.what() << "\n";
    return ark::cli::ExitCodeFor(e.code());
  } catch (const std::bad_alloc&) {
    std::cerr << "ark: out of memory\n";
  } catch (const std::exception& e) {
    std::cerr << "ark: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "ark: internal error\n";
  }
  return ark::cli::kExitError;
}
