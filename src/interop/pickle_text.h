// Decoders for the textual arguments of pickle opcodes (protocol 0) and for
// the byte-level encodings the binary opcodes use. Private to ark_interop.
//
// Every function is pure, reads only the bytes it is given, never throws and
// runs in time linear in its input (BigIntToDecimal: quadratic, on an input the
// caller bounds). On malformed input they return false (or nullopt) and set
// *error to a short reason the caller places in a message with the opcode and
// its offset.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ark::interop::pickle_text {

// A decimal integer as pickle writes it for INT, LONG, GET, PUT: an optional
// sign, then one or more ASCII digits, nothing else. Sets *value when the
// number fits int64 (returns true, *decimal untouched); otherwise sets
// *decimal to the canonical digits ("-" first when negative, no leading
// zeros) and *fits = false.
bool ParseDecimal(std::string_view text, int64_t* value, std::string* decimal, bool* fits);

// A float as FLOAT writes it (Python's repr): sign, digits, '.', exponent,
// or inf / nan. The whole text must be consumed.
bool ParseFloat(std::string_view text, double* value);

// codecs.escape_decode of the body of a protocol-0 STRING (quotes removed):
// \\ \' \" \a \b \f \n \r \t \v, \<newline> (dropped), \ooo (1-3 octal
// digits), \xhh (exactly two hex digits); any other escape keeps its
// backslash. A trailing lone backslash is an error.
bool EscapeDecode(std::string_view body, std::string* out, std::string* error);

// raw-unicode-escape (UNICODE): each byte is the code point of the same value,
// except \uXXXX and \UXXXXXXXX after an odd number of backslashes. Output is
// UTF-8; a lone surrogate is written in its 3-byte form (as Python's
// 'surrogatepass'), which keeps every Python str representable.
bool RawUnicodeEscapeToUtf8(std::string_view in, std::string* out, std::string* error);

// True when `bytes` is UTF-8 as Python decodes it with 'surrogatepass'
// (BINUNICODE and friends): shortest forms only, code points <= 0x10FFFF,
// surrogates (ED A0..BF xx) allowed.
bool IsUtf8SurrogatePass(std::string_view bytes);

// A little-endian two's-complement integer (LONG1 / LONG4 payload; empty
// means 0). Returns the value when it fits int64.
std::optional<int64_t> LittleEndianToInt64(std::string_view bytes);

// The same integer in decimal ("-" first when negative). Quadratic in the
// length: callers bound it.
std::string LittleEndianToDecimal(std::string_view bytes);

}  // namespace ark::interop::pickle_text
