// A recursive-descent parser for the filter language (filter.h).
#include "filter.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "ark/format/error.h"
#include "util.h"

namespace ark::registry::internal {
namespace {

constexpr size_t kMaxFilterBytes = 4096;
constexpr int kMaxDepth = 32;
constexpr size_t kMaxInValues = 1000;
constexpr size_t kMaxOrderTerms = 8;

struct ColumnSpec {
  const char* name;
  bool numeric;
};
constexpr ColumnSpec kColumns[] = {
    {"name", false},         {"version", true},      {"label", false},
    {"stage", false},        {"status", false},      {"description", false},
    {"digest", false},       {"model_digest", false}, {"created", true},
    {"created_by", false},   {"source_ref", false},  {"data_fingerprint", false},
    {"parent_version", true}, {"size", true},
};

enum class Tok { kEnd, kIdent, kString, kNumber, kOp, kLParen, kRParen, kComma };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // identifier (field path as written), string value, operator
  double number = 0;
  size_t pos = 0;
};

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

[[noreturn]] void Fail(size_t pos, const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument,
              "bad filter at character " + std::to_string(pos + 1) + ": " + what);
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : s_(text) {}

  std::vector<Token> All() {
    std::vector<Token> out;
    for (;;) {
      Token t = Next();
      out.push_back(t);
      if (t.kind == Tok::kEnd) return out;
    }
  }

 private:
  static bool IdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
  static bool IdentChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           c == '`';
  }

  Token Next() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    Token t;
    t.pos = i_;
    if (i_ >= s_.size()) return t;
    const char c = s_[i_];
    if (c == '(') { ++i_; t.kind = Tok::kLParen; return t; }
    if (c == ')') { ++i_; t.kind = Tok::kRParen; return t; }
    if (c == ',') { ++i_; t.kind = Tok::kComma; return t; }
    if (c == '\'') {
      ++i_;
      for (;;) {
        if (i_ >= s_.size()) Fail(t.pos, "unterminated string (strings use single quotes)");
        if (s_[i_] == '\'') {
          if (i_ + 1 < s_.size() && s_[i_ + 1] == '\'') {
            t.text += '\'';
            i_ += 2;
            continue;
          }
          ++i_;
          break;
        }
        t.text += s_[i_++];
      }
      t.kind = Tok::kString;
      return t;
    }
    if (c == '"') Fail(t.pos, "strings use single quotes: 'text'");
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' ||
        (c == '.' && i_ + 1 < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_ + 1])))) {
      size_t j = i_;
      if (s_[j] == '-' || s_[j] == '+') ++j;
      while (j < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[j])) || s_[j] == '.' ||
                               ((s_[j] == '-' || s_[j] == '+') && (s_[j - 1] == 'e' || s_[j - 1] == 'E')))) {
        ++j;
      }
      const std::string num(s_.substr(i_, j - i_));
      char* end = nullptr;
      const double v = std::strtod(num.c_str(), &end);
      if (end != num.c_str() + num.size() || num == "-" || num == "+" || !std::isfinite(v)) {
        Fail(t.pos, "'" + num + "' is not a number");
      }
      i_ = j;
      t.kind = Tok::kNumber;
      t.number = v;
      t.text = num;
      return t;
    }
    if (IdentStart(c)) {
      size_t j = i_;
      bool in_quote = false;
      while (j < s_.size() && (in_quote || IdentChar(s_[j]))) {
        if (s_[j] == '`') in_quote = !in_quote;
        ++j;
      }
      if (in_quote) Fail(t.pos, "unterminated `quoted` key");
      t.kind = Tok::kIdent;
      t.text = std::string(s_.substr(i_, j - i_));
      i_ = j;
      return t;
    }
    static const char* const kOps[] = {"<=", ">=", "!=", "<>", "==", "=", "<", ">"};
    for (const char* op : kOps) {
      const std::string_view o(op);
      if (s_.substr(i_, o.size()) == o) {
        i_ += o.size();
        t.kind = Tok::kOp;
        t.text = (o == "==") ? "=" : (o == "<>") ? "!=" : std::string(o);
        return t;
      }
    }
    Fail(t.pos, std::string("unexpected character '") + c + "'");
  }

  std::string_view s_;
  size_t i_ = 0;
};

// Splits "tags.`my key`.x" at dots outside back-quotes, dropping the quotes.
std::vector<std::string> SplitPath(const std::string& text, size_t pos) {
  std::vector<std::string> parts(1);
  bool quoted = false;
  for (char c : text) {
    if (c == '`') {
      quoted = !quoted;
    } else if (c == '.' && !quoted) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  for (const auto& p : parts) {
    if (p.empty()) Fail(pos, "empty part in field '" + text + "'");
  }
  return parts;
}

FilterField ParseField(const Token& t) {
  if (t.kind != Tok::kIdent) Fail(t.pos, "expected a field (name, version, tags.<key>, metrics.<key>, ...)");
  const std::vector<std::string> parts = SplitPath(t.text, t.pos);
  FilterField f;
  const std::string head = parts[0];
  if (parts.size() == 1) {
    if (head == "alias" || head == "aliases") {
      f.kind = FilterField::kAlias;
      f.name = "alias";
      return f;
    }
    for (const auto& c : kColumns) {
      if (head == c.name) {
        f.kind = FilterField::kColumn;
        f.name = c.name;
        f.numeric = c.numeric;
        return f;
      }
    }
    Fail(t.pos, "unknown field '" + head + "' (fields: name, version, label, stage, status, "
                "alias, created, tags.<key>, metrics.<key>, metadata.<path>, ...)");
  }
  std::string rest = parts[1];
  for (size_t i = 2; i < parts.size(); ++i) rest += "." + parts[i];
  if (head == "tags" || head == "tag") {
    CheckTag(rest, "");
    f.kind = FilterField::kTag;
    f.name = rest;
    return f;
  }
  if (head == "metrics" || head == "metric") {
    f.kind = FilterField::kMetric;
    f.name = rest;
    return f;
  }
  if (head == "metadata") {
    f.kind = FilterField::kMetadata;
    f.path.assign(parts.begin() + 1, parts.end());
    f.name = rest;
    return f;
  }
  Fail(t.pos, "unknown field '" + t.text + "' (prefixes: tags., metrics., metadata.)");
}

class Parser {
 public:
  explicit Parser(std::string_view text) : toks_(Lexer(text).All()) {}

  bool AtEnd() const { return Peek().kind == Tok::kEnd; }

  FilterExpr Or(int depth) {
    if (depth > kMaxDepth) Fail(Peek().pos, "nested too deeply");
    FilterExpr first = And(depth);
    if (!IsKeyword("OR")) return first;
    FilterExpr e;
    e.kind = FilterExpr::kOr;
    e.children.push_back(std::move(first));
    while (IsKeyword("OR")) {
      ++i_;
      e.children.push_back(And(depth));
    }
    return e;
  }

  std::vector<OrderTerm> Order() {
    std::vector<OrderTerm> terms;
    if (AtEnd()) return terms;
    for (;;) {
      OrderTerm term;
      term.field = ParseField(Take());
      if (IsKeyword("DESC")) {
        term.descending = true;
        ++i_;
      } else if (IsKeyword("ASC")) {
        ++i_;
      }
      terms.push_back(std::move(term));
      if (terms.size() > kMaxOrderTerms) Fail(Peek().pos, "at most 8 order terms");
      if (AtEnd()) return terms;
      if (Peek().kind != Tok::kComma) Fail(Peek().pos, "expected ',', ASC, DESC or the end");
      ++i_;
    }
  }

  const Token& Peek() const { return toks_[i_]; }

 private:
  const Token& Take() {
    const Token& t = toks_[i_];
    if (t.kind != Tok::kEnd) ++i_;
    return t;
  }
  bool IsKeyword(const char* kw) const {
    return Peek().kind == Tok::kIdent && Upper(Peek().text) == kw;
  }

  FilterExpr And(int depth) {
    FilterExpr first = Unary(depth);
    if (!IsKeyword("AND")) return first;
    FilterExpr e;
    e.kind = FilterExpr::kAnd;
    e.children.push_back(std::move(first));
    while (IsKeyword("AND")) {
      ++i_;
      e.children.push_back(Unary(depth));
    }
    return e;
  }

  FilterExpr Unary(int depth) {
    if (Peek().kind == Tok::kLParen) {
      ++i_;
      FilterExpr inner = Or(depth + 1);
      if (Peek().kind != Tok::kRParen) Fail(Peek().pos, "expected ')'");
      ++i_;
      return inner;
    }
    return Compare();
  }

  FilterValue Literal(const FilterField& field) {
    const Token& t = Take();
    FilterValue v;
    if (t.kind == Tok::kNumber) {
      v.is_number = true;
      v.number = t.number;
    } else if (t.kind == Tok::kString) {
      v.text = t.text;
    } else {
      Fail(t.pos, "expected a value: a number or a 'quoted string'");
    }
    const bool wants_number = field.kind == FilterField::kMetric ||
                              (field.kind == FilterField::kColumn && field.numeric);
    const bool wants_text = field.kind == FilterField::kTag || field.kind == FilterField::kAlias ||
                            (field.kind == FilterField::kColumn && !field.numeric);
    if (wants_number && !v.is_number) {
      int64_t ms = 0;
      if (field.kind == FilterField::kColumn && field.name == "created" && ParseIsoTime(v.text, &ms)) {
        v.is_number = true;
        v.number = static_cast<double>(ms);
      } else {
        Fail(t.pos, field.name + " takes a number" +
                        (field.name == "created" ? " (milliseconds) or an ISO-8601 date" : ""));
      }
    }
    if (wants_text && v.is_number) {
      Fail(t.pos, (field.kind == FilterField::kTag ? "tags." : "") + field.name +
                      " takes a 'quoted string'");
    }
    if (field.kind == FilterField::kColumn && field.name == "stage" && IsStageName(v.text)) {
      v.text = CanonicalStage(v.text);
    }
    return v;
  }

  FilterExpr Compare() {
    FilterExpr e;
    e.kind = FilterExpr::kCompare;
    e.field = ParseField(Take());
    bool negate = false;
    if (IsKeyword("NOT")) {
      negate = true;
      ++i_;
    }
    const Token& op = Peek();
    if (op.kind == Tok::kIdent && (Upper(op.text) == "LIKE" || Upper(op.text) == "ILIKE")) {
      ++i_;
      const bool text_field = e.field.kind != FilterField::kMetric &&
                              !(e.field.kind == FilterField::kColumn && e.field.numeric);
      if (!text_field) Fail(op.pos, "LIKE applies to text fields only");
      e.op = negate ? "NOT LIKE" : "LIKE";
      e.values.push_back(Literal(e.field));
      if (e.values[0].is_number) Fail(op.pos, "LIKE takes a 'quoted pattern'");
      return e;
    }
    if (op.kind == Tok::kIdent && Upper(op.text) == "IN") {
      ++i_;
      e.op = negate ? "NOT IN" : "IN";
      if (Peek().kind != Tok::kLParen) Fail(Peek().pos, "expected '(' after IN");
      ++i_;
      for (;;) {
        e.values.push_back(Literal(e.field));
        if (e.values.size() > kMaxInValues) Fail(Peek().pos, "more than 1000 values in IN (...)");
        if (Peek().kind == Tok::kComma) {
          ++i_;
          continue;
        }
        if (Peek().kind != Tok::kRParen) Fail(Peek().pos, "expected ',' or ')' in IN (...)");
        ++i_;
        return e;
      }
    }
    if (negate) Fail(op.pos, "NOT goes before IN or LIKE only");
    if (op.kind != Tok::kOp) Fail(op.pos, "expected an operator (= != < <= > >= LIKE IN)");
    ++i_;
    e.op = op.text;
    e.values.push_back(Literal(e.field));
    return e;
  }

  std::vector<Token> toks_;
  size_t i_ = 0;
};

}  // namespace

FilterExpr ParseFilter(std::string_view text, bool* empty) {
  if (text.size() > kMaxFilterBytes) Fail(kMaxFilterBytes, "filter longer than 4096 bytes");
  Parser p(text);
  *empty = p.AtEnd();
  if (*empty) return {};
  FilterExpr e = p.Or(0);
  if (!p.AtEnd()) Fail(p.Peek().pos, "expected AND, OR or the end of the filter");
  return e;
}

std::vector<OrderTerm> ParseOrderBy(std::string_view text) {
  if (text.size() > kMaxFilterBytes) Fail(kMaxFilterBytes, "order-by longer than 4096 bytes");
  try {
    Parser p(text);
    return p.Order();
  } catch (const Error& e) {
    std::string msg = e.what();
    const std::string prefix = "bad filter";
    if (msg.rfind(prefix, 0) == 0) msg = "bad order-by" + msg.substr(prefix.size());
    throw Error(ErrorCode::kInvalidArgument, msg);
  }
}

}  // namespace ark::registry::internal
