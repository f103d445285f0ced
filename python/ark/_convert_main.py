"""`python -m ark._convert_main SRC DST [--compress C[-LEVEL]] [--trust NAME]... [--quiet]`

The body of `ark convert` (src/cli/convert.cc runs it). Prints one line:
"converted: <summary> — <n> untrusted types, <n> arrays" on stdout, or
"refused: <why>; nothing was written" / "error: ..." on stderr.

Exit status (as `ark scan`): 0 converted; 1 refused for unknown types, or
another error (missing file, I/O); 2 refused for dangerous names; 3 the
source is unreadable or holds something ark cannot convert; 64 usage.
"""
import argparse
import os
import sys

EXIT_OK, EXIT_UNKNOWN, EXIT_DANGEROUS, EXIT_UNREADABLE, EXIT_USAGE = 0, 1, 2, 3, 64


def _compress(text):
    """'zstd' / 'zstd-19' / 'lzma-9' -> ark.dump's compress= value."""
    if not text or text == "none":
        return None
    name, _, level = text.partition("-")
    if not level:
        return name
    if not level.isdigit():
        raise ValueError(f"--compress {text}: the level must be a number (e.g. zstd-19)")
    return (name, int(level))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="ark convert", description=__doc__.split("\n\n")[1])
    parser.add_argument("source")
    parser.add_argument("destination")
    parser.add_argument("--compress", default=None)
    parser.add_argument("--trust", action="append", default=[])
    parser.add_argument("--quiet", action="store_true")
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return EXIT_OK if e.code == 0 else EXIT_USAGE

    import _ark  # noqa: PLC0415  (after argument errors)

    from . import _convert  # noqa: PLC0415
    from .errors import ArkError  # noqa: PLC0415

    label = args.source
    try:
        compress = _compress(args.compress)
        import ark  # noqa: PLC0415

        ark._codec(compress)  # reject a bad codec before reading anything
    except ValueError as e:
        print(f"ark convert: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if os.path.isdir(args.destination):
            raise IsADirectoryError(f"{args.destination} is a directory")
        result = _convert.convert(args.source, args.destination, compress=compress,
                                  trusted=args.trust)
    except _convert.ConversionRefusedError as e:
        print(f"refused: {e}", file=sys.stderr)
        return EXIT_DANGEROUS if e.verdict == "dangerous" else EXIT_UNKNOWN
    except (_convert.UnreadableFileError, _convert.ConversionError) as e:
        print(f"refused: {label}: {e}; nothing was written", file=sys.stderr)
        return EXIT_UNREADABLE
    except (ArkError, _ark.FormatError) as e:
        print(f"error: {label}: {e}; nothing was written", file=sys.stderr)
        return EXIT_UNREADABLE
    except OSError as e:
        print(f"error: {e.strerror + ': ' + e.filename if e.filename and e.strerror else e}",
              file=sys.stderr)
        return EXIT_UNKNOWN
    except Exception as e:  # noqa: BLE001  (one line, never a traceback, per the CLI contract)
        print(f"error: {label}: internal error: {type(e).__name__}: {e}; nothing was written",
              file=sys.stderr)
        return EXIT_UNKNOWN
    if not args.quiet:
        print(result)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
