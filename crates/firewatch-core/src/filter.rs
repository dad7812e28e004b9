//! The `--where` filter language: a small boolean language over event fields.
//!
//! ```text
//! classification.type = scanner and source.geolocation.cc = JP
//! source.ip = 192.0.2.0/24 or (source.asn in (AS64496, 64497) and not extra.team exists)
//! source.reverse_dns ~ example and destination.port >= 1024
//! ```
//!
//! * Comparisons: `FIELD OP VALUE` with `=`, `!=`, `<`, `<=`, `>`, `>=` and `~` (ASCII
//!   case-insensitive substring of a text value, or of an integer's decimal form);
//!   `FIELD in (V1, V2, …)`; `FIELD exists`.
//! * `and` binds tighter than `or`; `not` negates; parentheses group. Keywords ignore case.
//! * Values are bare words (`scanner`, `JP`, `192.0.2.1`), quoted strings (`"…"` or `'…'`, with
//!   `\` escaping the quote or a backslash) or numbers. Values are sanitised for the field's type
//!   exactly as [`Event::set`] does, so `source.asn = AS64496` and `source.geolocation.cc = jp`
//!   work and `source.asn = x` is rejected when the filter is parsed.
//! * On an IP address field, `=` and `!=` with a CIDR network (`source.ip = 192.0.2.0/24`) test
//!   membership of the network; `in (…)` may mix addresses and networks.
//! * Every comparison except `exists` is false when the field is absent: `cc != JP` matches
//!   events that have a country other than JP, `not cc = JP` also matches events without one.
//! * Ordering compares numbers numerically and text byte-wise (date-times are stored in one
//!   ISO 8601 form, so they order chronologically). `extra.*` values are JSON: bare words that
//!   read as numbers or `true`/`false` are taken as such, anything else as a string.
//! * Limits: groups and `not`s nest at most [`MAX_NESTING`] (32) deep, and a filter holds at most
//!   [`MAX_TERMS`] (4,096) comparisons and listed values; past either, the filter is refused with
//!   the column where it went over, as any other mistake.
//!
//! ```
//! use firewatch_core::{Event, filter::Filter};
//! let filter = Filter::parse("classification.type = scanner and source.geolocation.cc = jp").unwrap();
//! let mut event = Event::new();
//! event.set("classification.type", "scanner").unwrap();
//! event.set("source.geolocation.cc", "JP").unwrap();
//! assert!(filter.matches(&event));
//! let err = Filter::parse("source.asn = x").unwrap_err();
//! assert_eq!(err.to_string(), r#"at column 14: source.asn: "x" is not a valid ASN (must be 1..4294967295)"#);
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value as Json;

use crate::event::{Event, Value};
use crate::harmonization::{self, EVENT_FIELDS, FieldType};
use crate::sanitize::{self, Origin};

/// A parsed filter: an expression tree over event fields with validated, normalised values.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    expr: Expr,
    text: String,
}

/// A comparison operator (`~` is [`Expr::Contains`], not an operator here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The operator as written in the language (and in SQL).
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A filter expression. Every leaf except [`Expr::Exists`] is false when its field is absent.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// All of these hold (an empty list holds).
    And(Vec<Expr>),
    /// Any of these holds (an empty list does not).
    Or(Vec<Expr>),
    /// This does not hold.
    Not(Box<Expr>),
    /// The field is set.
    Exists { field: String },
    /// The field's value compares with `value` (sanitised for the field; [`Value::Json`] for
    /// `extra.*` keys). `Ne` is "set and different".
    Compare {
        field: String,
        op: CmpOp,
        value: Value,
    },
    /// The field's text (or an integer's decimal form) contains `needle`, ASCII case-insensitive.
    /// `needle` is already ASCII-lowercased.
    Contains { field: String, needle: String },
    /// The field's value equals one of `values`.
    In { field: String, values: Vec<Value> },
    /// The field holds an IP address inside `network`.
    InNetwork { field: String, network: IpNet },
}

/// Why a filter could not be parsed: where (1-based character column) and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at column {column}: {message}")]
pub struct FilterError {
    /// 1-based column (in characters) of the offending token; one past the end for "unexpected
    /// end of filter".
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl Filter {
    /// Parses a filter; see the module documentation for the language.
    ///
    /// ```
    /// let err = firewatch_core::filter::Filter::parse("source.geolocaton.cc = JP").unwrap_err();
    /// assert_eq!(err.column, 1);
    /// assert!(err.message.contains("did you mean source.geolocation.cc?"));
    /// ```
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let tokens = lex(text)?;
        let end = text.chars().count() + 1;
        let mut p = Parser {
            tokens,
            pos: 0,
            end,
            depth: 0,
            terms: 0,
        };
        let expr = p.or_expr()?;
        if let Some(t) = p.peek() {
            return Err(FilterError {
                column: t.column,
                message: format!("expected `and`, `or` or the end, found {}", t.kind),
            });
        }
        Ok(Filter {
            expr,
            text: text.to_owned(),
        })
    }

    /// `FIELD = "VALUE"`, the value quoted as the language quotes strings and typed for the
    /// field as [`Filter::parse`] types it (so `extra.team`, `source.ip` and the like need no
    /// hand-quoting by callers).
    ///
    /// ```
    /// use firewatch_core::filter::Filter;
    /// let f = Filter::equals("extra.team", "a \"quoted\" team").unwrap();
    /// assert_eq!(f, Filter::parse(r#"extra.team = "a \"quoted\" team""#).unwrap());
    /// ```
    pub fn equals(field: &str, value: &str) -> Result<Filter, FilterError> {
        let quoted = value.replace('\\', "\\\\").replace('"', "\\\"");
        Filter::parse(&format!("{field} = \"{quoted}\""))
    }

    /// A filter from an already built expression (for programmatic use). Field names and values
    /// are taken as given; build values with the same types [`Filter::parse`] would.
    pub fn from_expr(expr: Expr) -> Filter {
        Filter {
            expr,
            text: String::new(),
        }
    }

    /// The expression tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The text the filter was parsed from (empty for [`Filter::from_expr`]).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether `event` satisfies the filter.
    ///
    /// ```
    /// use firewatch_core::{Event, filter::Filter};
    /// let mut event = Event::new();
    /// event.set("source.ip", "192.0.2.77").unwrap();
    /// assert!(Filter::parse("source.ip = 192.0.2.0/24").unwrap().matches(&event));
    /// assert!(!Filter::parse("source.ip exists and not source.ip = 192.0.2.77").unwrap().matches(&event));
    /// ```
    pub fn matches(&self, event: &Event) -> bool {
        self.expr.matches(event)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Filter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

impl Expr {
    /// Whether `event` satisfies this expression.
    pub fn matches(&self, event: &Event) -> bool {
        match self {
            Expr::And(list) => list.iter().all(|e| e.matches(event)),
            Expr::Or(list) => list.iter().any(|e| e.matches(event)),
            Expr::Not(e) => !e.matches(event),
            Expr::Exists { field } => event.contains(field),
            Expr::Compare { field, op, value } => {
                let Some(v) = event.get(field) else {
                    return false;
                };
                match op {
                    CmpOp::Eq => values_equal(v, value),
                    CmpOp::Ne => !values_equal(v, value),
                    _ => match compare_values(v, value) {
                        Some(ord) => match op {
                            CmpOp::Lt => ord == Ordering::Less,
                            CmpOp::Le => ord != Ordering::Greater,
                            CmpOp::Gt => ord == Ordering::Greater,
                            CmpOp::Ge => ord != Ordering::Less,
                            CmpOp::Eq | CmpOp::Ne => unreachable!(),
                        },
                        None => false,
                    },
                }
            }
            Expr::Contains { field, needle } => match event.get(field) {
                Some(Value::Text(s)) => s.to_ascii_lowercase().contains(needle.as_str()),
                Some(Value::Json(Json::String(s))) => {
                    s.to_ascii_lowercase().contains(needle.as_str())
                }
                Some(Value::Integer(i)) => i.to_string().contains(needle.as_str()),
                _ => false,
            },
            Expr::In { field, values } => event
                .get(field)
                .is_some_and(|v| values.iter().any(|c| values_equal(v, c))),
            Expr::InNetwork { field, network } => event
                .get(field)
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<IpAddr>().ok())
                .is_some_and(|ip| network.contains(&ip)),
        }
    }
}

/// Equality of a stored value and a filter value, as the filter language defines it: same
/// type and equal; JSON numbers compare numerically.
pub fn values_equal(v: &Value, c: &Value) -> bool {
    match (v, c) {
        (Value::Json(a), Value::Json(b)) => compare_json(a, b) == Some(Ordering::Equal),
        _ => compare_values(v, c) == Some(Ordering::Equal),
    }
}

/// Ordering of a stored value and a filter value: numbers numerically, text byte-wise, booleans
/// false < true; `None` when the two are not comparable.
pub fn compare_values(v: &Value, c: &Value) -> Option<Ordering> {
    match (v, c) {
        (Value::Text(a), Value::Text(b)) => Some(a.as_str().cmp(b.as_str())),
        (Value::Integer(a), Value::Integer(b)) => Some(a.cmp(b)),
        (Value::Float(a), Value::Float(b)) => a.partial_cmp(b),
        (Value::Integer(a), Value::Float(b)) => (*a as f64).partial_cmp(b),
        (Value::Float(a), Value::Integer(b)) => a.partial_cmp(&(*b as f64)),
        (Value::Boolean(a), Value::Boolean(b)) => Some(a.cmp(b)),
        (Value::Json(a), Value::Json(b)) => compare_json(a, b),
        _ => None,
    }
}

fn compare_json(a: &Json, b: &Json) -> Option<Ordering> {
    match (a, b) {
        (Json::String(x), Json::String(y)) => Some(x.as_str().cmp(y.as_str())),
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => Some(i.cmp(&j)),
            _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
        },
        (Json::Bool(x), Json::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Whether `name` is a field the filter language (and the event store) accepts: a harmonized
/// event field or a well-formed `extra.*` key.
pub fn is_known_field(name: &str) -> bool {
    (harmonization::event_field(name).is_some() && name != "extra")
        || harmonization::is_extra_key(name)
}

/// An error message for an unknown field name, with a suggestion when one is close.
pub fn unknown_field_message(name: &str) -> String {
    match suggest(name) {
        Some(s) => format!("unknown field \"{name}\" (did you mean {s}?)"),
        None => format!("unknown field \"{name}\""),
    }
}

fn suggest(name: &str) -> Option<&'static str> {
    let best = EVENT_FIELDS
        .iter()
        .filter(|f| f.name != "extra")
        .map(|f| (edit_distance(name, f.name), f.name))
        .min()?;
    let limit = (name.chars().count() / 4).clamp(2, 4);
    (best.0 <= limit).then_some(best.1)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    LParen,
    RParen,
    Comma,
    Op(&'static str),
    Word(String),
    Quoted(String),
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::LParen => f.write_str("`(`"),
            Kind::RParen => f.write_str("`)`"),
            Kind::Comma => f.write_str("`,`"),
            Kind::Op(op) => write!(f, "`{op}`"),
            Kind::Word(w) => write!(f, "`{w}`"),
            Kind::Quoted(q) => write!(f, "{q:?}"),
        }
    }
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    column: usize,
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace()
        && !matches!(
            c,
            '(' | ')' | ',' | '"' | '\'' | '=' | '!' | '<' | '>' | '~'
        )
}

fn lex(text: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        let simple = |kind| Token { kind, column };
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(simple(Kind::LParen));
                i += 1;
            }
            ')' => {
                tokens.push(simple(Kind::RParen));
                i += 1;
            }
            ',' => {
                tokens.push(simple(Kind::Comma));
                i += 1;
            }
            '=' | '~' => {
                tokens.push(simple(Kind::Op(if c == '=' { "=" } else { "~" })));
                i += 1;
            }
            '!' | '<' | '>' => {
                let eq = chars.get(i + 1) == Some(&'=');
                let op = match (c, eq) {
                    ('!', true) => "!=",
                    ('<', true) => "<=",
                    ('>', true) => ">=",
                    ('<', false) => "<",
                    ('>', false) => ">",
                    _ => {
                        return Err(FilterError {
                            column,
                            message: "`!` must be followed by `=` (use `not` to negate)".into(),
                        });
                    }
                };
                tokens.push(simple(Kind::Op(op)));
                i += if eq { 2 } else { 1 };
            }
            '"' | '\'' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(FilterError {
                                column,
                                message: format!("unterminated string (missing closing {quote})"),
                            });
                        }
                        Some('\\') if matches!(chars.get(i + 1), Some(&n) if n == quote || n == '\\') =>
                        {
                            s.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(&ch) if ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token {
                    kind: Kind::Quoted(s),
                    column,
                });
            }
            _ => {
                let start = i;
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                tokens.push(Token {
                    kind: Kind::Word(chars[start..i].iter().collect()),
                    column,
                });
            }
        }
    }
    Ok(tokens)
}

// ---------------------------------------------------------------------------------------------
// Parser

/// How deeply groups and `not`s may nest: far beyond what a person writes, and low enough that
/// parsing, evaluating or compiling a filter never exhausts a stack (a `where=` of thousands of
/// parentheses is one anonymous request).
pub const MAX_NESTING: usize = 32;

/// How many comparisons and listed values one filter may hold: each becomes one or two SQL
/// parameters, and SQLite takes at most 32,766.
pub const MAX_TERMS: usize = 4096;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
    /// Groups and `not`s open around the current position.
    depth: usize,
    /// Comparisons and listed values read so far.
    terms: usize,
}

fn is_keyword(t: &Token, kw: &str) -> bool {
    matches!(&t.kind, Kind::Word(w) if w.eq_ignore_ascii_case(kw))
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self, expected: &str) -> Result<Token, FilterError> {
        match self.tokens.get(self.pos) {
            Some(t) => {
                self.pos += 1;
                Ok(t.clone())
            }
            None => Err(FilterError {
                column: self.end,
                message: format!("unexpected end of filter (expected {expected})"),
            }),
        }
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.peek().is_some_and(|t| is_keyword(t, kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or_expr(&mut self) -> Result<Expr, FilterError> {
        let mut list = vec![self.and_expr()?];
        while self.eat_keyword("or") {
            list.push(self.and_expr()?);
        }
        Ok(one_or(list, Expr::Or))
    }

    fn and_expr(&mut self) -> Result<Expr, FilterError> {
        let mut list = vec![self.unary()?];
        while self.eat_keyword("and") {
            list.push(self.unary()?);
        }
        Ok(one_or(list, Expr::And))
    }

    /// One more group or `not` opens at `column`.
    fn enter(&mut self, column: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(FilterError {
                column,
                message: format!(
                    "groups and `not`s nest more than {MAX_NESTING} deep; write the filter flatter"
                ),
            });
        }
        Ok(())
    }

    /// One more comparison or listed value, at `column`.
    fn term(&mut self, column: usize) -> Result<(), FilterError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(FilterError {
                column,
                message: format!(
                    "more than {MAX_TERMS} comparisons and listed values; split the filter"
                ),
            });
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if let Some(column) = self
            .peek()
            .filter(|t| is_keyword(t, "not"))
            .map(|t| t.column)
        {
            self.pos += 1;
            self.enter(column)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        let t = self.next("a field name, `not` or `(`")?;
        match t.kind {
            Kind::LParen => {
                self.enter(t.column)?;
                let e = self.or_expr()?;
                self.depth -= 1;
                let close = self.next("`)`")?;
                if close.kind != Kind::RParen {
                    return Err(FilterError {
                        column: close.column,
                        message: format!("expected `)`, found {}", close.kind),
                    });
                }
                Ok(e)
            }
            Kind::Word(ref w)
                if !["and", "or", "in", "exists"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                let field = w.clone();
                if !is_known_field(&field) {
                    let message = if field.starts_with("extra.") || field == "extra" {
                        format!(
                            "invalid extra key \"{field}\" (use extra. and lowercase letters, digits, _ and .)"
                        )
                    } else {
                        unknown_field_message(&field)
                    };
                    return Err(FilterError {
                        column: t.column,
                        message,
                    });
                }
                self.predicate(field)
            }
            other => Err(FilterError {
                column: t.column,
                message: format!("expected a field name, `not` or `(`, found {other}"),
            }),
        }
    }

    fn predicate(&mut self, field: String) -> Result<Expr, FilterError> {
        let t = self.next("an operator, `in` or `exists`")?;
        match &t.kind {
            Kind::Word(w) if w.eq_ignore_ascii_case("exists") => {
                self.term(t.column)?;
                Ok(Expr::Exists { field })
            }
            Kind::Word(w) if w.eq_ignore_ascii_case("in") => {
                let open = self.next("`(`")?;
                if open.kind != Kind::LParen {
                    return Err(FilterError {
                        column: open.column,
                        message: format!("expected `(` after `in`, found {}", open.kind),
                    });
                }
                let mut values = Vec::new();
                let mut networks = Vec::new();
                loop {
                    let (raw, column) = self.value()?;
                    self.term(column)?;
                    match operand(&field, &raw, column, true)? {
                        Operand::Value(v) => values.push(v),
                        Operand::Network(n) => networks.push(n),
                    }
                    let sep = self.next("`,` or `)`")?;
                    match sep.kind {
                        Kind::Comma => continue,
                        Kind::RParen => break,
                        other => {
                            return Err(FilterError {
                                column: sep.column,
                                message: format!("expected `,` or `)`, found {other}"),
                            });
                        }
                    }
                }
                let mut alternatives = Vec::new();
                if !values.is_empty() {
                    alternatives.push(Expr::In {
                        field: field.clone(),
                        values,
                    });
                }
                for network in networks {
                    alternatives.push(Expr::InNetwork {
                        field: field.clone(),
                        network,
                    });
                }
                Ok(one_or(alternatives, Expr::Or))
            }
            Kind::Op("~") => {
                let (raw, column) = self.value()?;
                self.term(column)?;
                let (RawValue::Text(s) | RawValue::Bare(s)) = raw;
                if s.is_empty() {
                    return Err(FilterError {
                        column,
                        message: "empty value after `~`".into(),
                    });
                }
                Ok(Expr::Contains {
                    field,
                    needle: s.to_ascii_lowercase(),
                })
            }
            Kind::Op(op) => {
                let op = match *op {
                    "=" => CmpOp::Eq,
                    "!=" => CmpOp::Ne,
                    "<" => CmpOp::Lt,
                    "<=" => CmpOp::Le,
                    ">" => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                let (raw, column) = self.value()?;
                self.term(column)?;
                let allow_net = matches!(op, CmpOp::Eq | CmpOp::Ne);
                Ok(match operand(&field, &raw, column, allow_net)? {
                    Operand::Value(value) => Expr::Compare { field, op, value },
                    Operand::Network(network) if op == CmpOp::Eq => {
                        Expr::InNetwork { field, network }
                    }
                    Operand::Network(network) => Expr::And(vec![
                        Expr::Exists {
                            field: field.clone(),
                        },
                        Expr::Not(Box::new(Expr::InNetwork { field, network })),
                    ]),
                })
            }
            other => Err(FilterError {
                column: t.column,
                message: format!(
                    "expected an operator (= != < <= > >= ~), `in` or `exists` after {field}, found {other}"
                ),
            }),
        }
    }

    fn value(&mut self) -> Result<(RawValue, usize), FilterError> {
        let t = self.next("a value")?;
        match t.kind {
            Kind::Word(w) => Ok((RawValue::Bare(w), t.column)),
            Kind::Quoted(q) => Ok((RawValue::Text(q), t.column)),
            other => Err(FilterError {
                column: t.column,
                message: format!("expected a value, found {other}"),
            }),
        }
    }
}

enum RawValue {
    /// A bare word.
    Bare(String),
    /// A quoted string.
    Text(String),
}

enum Operand {
    Value(Value),
    Network(IpNet),
}

/// Validates and normalises a value for `field`.
fn operand(
    field: &str,
    raw: &RawValue,
    column: usize,
    allow_net: bool,
) -> Result<Operand, FilterError> {
    let err = |message: String| FilterError { column, message };
    let (RawValue::Bare(s) | RawValue::Text(s)) = raw;
    if sanitize::is_absent(&Json::String(s.clone())) {
        return Err(err(format!(
            "{field}: {:?} means \"no value\"; use `not {field} exists` to find events without it",
            s
        )));
    }
    if field.starts_with("extra.") {
        let json = match raw {
            RawValue::Text(s) => Json::String(s.clone()),
            RawValue::Bare(s) => {
                if let Ok(i) = s.parse::<i64>() {
                    Json::from(i)
                } else if let Some(n) = s
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .and_then(serde_json::Number::from_f64)
                    .filter(|_| s.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)))
                {
                    Json::Number(n)
                } else if s.eq_ignore_ascii_case("true") {
                    Json::Bool(true)
                } else if s.eq_ignore_ascii_case("false") {
                    Json::Bool(false)
                } else {
                    Json::String(s.clone())
                }
            }
        };
        return Ok(Operand::Value(Value::Json(json)));
    }
    let spec = harmonization::event_field(field).expect("field checked by the parser");
    if allow_net
        && spec.ty == FieldType::IpAddress
        && s.contains('/')
        && let Ok(net) = s.trim().parse::<IpNet>()
    {
        return Ok(Operand::Network(net));
    }
    let as_text = Json::String(s.clone());
    match sanitize::sanitize(spec, &as_text, Origin::Raw) {
        Ok(v) => Ok(Operand::Value(v)),
        Err(reason) => Err(err(format!("{field}: {as_text} {reason}"))),
    }
}

/// A single expression as itself; several joined by `join` (`Expr::And` or `Expr::Or`).
fn one_or(list: Vec<Expr>, join: fn(Vec<Expr>) -> Expr) -> Expr {
    match <[Expr; 1]>::try_from(list) {
        Ok([one]) => one,
        Err(list) => join(list),
    }
}
