//! The `--where` filter language, the TLP rule and the event query helpers, compiled for
//! PostgreSQL with the SQLite backend's meaning (src/events.rs): the same leaves are true for
//! the same events, NULL counts as false under every NOT, and values compare only with values
//! of their own type. Fields without a column are read from the document as JSONB (`fw_doc`);
//! every cast of a JSON member sits behind a `CASE` on its type, since PostgreSQL does not
//! promise to evaluate the operands of AND in order.

use std::fmt::Write as _;

use firewatch_core::Value;
use firewatch_core::filter::{CmpOp, Expr};
use postgres::types::ToSql;
use serde_json::Value as Json;

// The dialect-free pieces are the SQLite backend's: one definition of the field rules, the
// address key, event times and the order of stats keys.
pub(super) use crate::events::{
    Kind, check_field, cmp_keys, event_time, exact_column, invalid, ip_key, ip_key_text, kind_of,
    validate_expr,
};
use crate::{EventQuery, EventVisibility, Result};

/// A statement being built: text with `$n` placeholders, and their values. A fragment's text
/// may be used more than once (its placeholders name the same values).
#[derive(Default)]
pub(super) struct Sql {
    pub(super) text: String,
    pub(super) params: Vec<Box<dyn ToSql + Sync>>,
}

impl Sql {
    pub(super) fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Binds `v`, returning its placeholder with an explicit type (`$3::int8`).
    pub(super) fn param<T: ToSql + Sync + 'static>(&mut self, v: T, ty: &str) -> String {
        self.params.push(Box::new(v));
        format!("${}::{ty}", self.params.len())
    }

    /// Binds `v` and writes its placeholder.
    pub(super) fn bind<T: ToSql + Sync + 'static>(&mut self, v: T, ty: &str) -> &mut Self {
        let p = self.param(v, ty);
        self.push(&p)
    }

    pub(super) fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(|p| p.as_ref() as _).collect()
    }
}

/// A quoted SQL string literal (field names are validated, but quoting costs nothing).
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The JSONB member of the document for `field` (NULL when absent).
pub(super) fn member(field: &str) -> String {
    format!("(fw_doc(doc) -> {})", literal(field))
}

/// The member as text: a string's value, another value's JSON text.
fn member_text(field: &str) -> String {
    format!("(fw_doc(doc) ->> {})", literal(field))
}

/// A filter constant as SQLite compares it: booleans are 0 and 1.
enum Bound {
    Text(String),
    Int(i64),
    Float(f64),
}

fn scalar(v: &Value) -> Option<Bound> {
    Some(match v {
        Value::Text(s) | Value::Json(Json::String(s)) => Bound::Text(s.clone()),
        Value::Integer(i) => Bound::Int(*i),
        Value::Float(x) => Bound::Float(*x),
        Value::Boolean(b) | Value::Json(Json::Bool(b)) => Bound::Int(i64::from(*b)),
        Value::Json(Json::Number(n)) => match n.as_i64() {
            Some(i) => Bound::Int(i),
            None => Bound::Float(n.as_f64()?),
        },
        Value::Json(_) => return None,
    })
}

fn bind_bound(out: &mut Sql, b: Bound) -> String {
    match b {
        Bound::Text(s) => out.param(s, "text"),
        Bound::Int(i) => out.param(i, "int8"),
        Bound::Float(x) => out.param(x, "float8"),
    }
}

/// `member` of `field` cast to `cast` when its JSON type is `ty`, else NULL.
fn typed_member(field: &str, ty: &str, cast: &str) -> String {
    let m = member(field);
    format!("(CASE WHEN jsonb_typeof({m}) = '{ty}' THEN {m}{cast} END)")
}

/// SQL true when `field` holds a value of the same type as `c` and `op` holds; NULL or false
/// otherwise (never true when the field is absent).
fn compile_compare(out: &mut Sql, field: &str, op: &str, c: &Value) {
    let Some(bound) = scalar(c) else {
        out.push("FALSE");
        return;
    };
    let kind = kind_of(field);
    if kind == Kind::Json {
        // Typed comparison on a JSON member: only values of the same JSON type compare.
        let lhs = match c {
            Value::Json(Json::String(_)) if field == "extra.team" => {
                // The team column holds extra.team exactly when it is a string.
                "team".to_owned()
            }
            Value::Json(Json::String(_)) => {
                let m = member(field);
                format!(
                    "(CASE WHEN jsonb_typeof({m}) = 'string' THEN {} END) COLLATE \"C\"",
                    member_text(field)
                )
            }
            Value::Json(Json::Number(_)) => typed_member(field, "number", "::numeric"),
            Value::Json(Json::Bool(_)) => typed_member(field, "boolean", "::boolean::int"),
            _ => {
                out.push("FALSE");
                return;
            }
        };
        let p = bind_bound(out, bound);
        out.push(&format!("({lhs} {op} {p})"));
        return;
    }
    let same_kind = matches!(
        (kind, c),
        (Kind::Text, Value::Text(_))
            | (Kind::Integer, Value::Integer(_))
            | (Kind::Float, Value::Float(_))
            | (Kind::Boolean, Value::Boolean(_))
    );
    if !same_kind {
        out.push("FALSE");
        return;
    }
    if field == "source.ip"
        && op == "="
        && let Value::Text(s) = c
        && let Some(key) = ip_key_text(s)
    {
        let p = out.param(key, "bytea");
        out.push(&format!("(source_ip_key = {p})"));
        return;
    }
    let lhs = match (exact_column(field), kind) {
        (Some(col), _) => col.to_owned(),
        (None, Kind::Text) => format!("{} COLLATE \"C\"", member_text(field)),
        (None, Kind::Integer) => typed_member(field, "number", "::numeric"),
        (None, Kind::Float) => typed_member(field, "number", "::float8"),
        (None, _) => typed_member(field, "boolean", "::boolean::int"),
    };
    let p = bind_bound(out, bound);
    out.push(&format!("({lhs} {op} {p})"));
}

fn compile_exists(out: &mut Sql, field: &str) {
    match exact_column(field) {
        Some(col) => out.push(&format!("({col} IS NOT NULL)")),
        None => out.push(&format!("(fw_doc(doc) ? {})", literal(field))),
    };
}

/// Compiles `expr` (negated when `neg`) in negation normal form: NOTs only around leaves, each
/// wrapped so that NULL counts as false, so that a NULL leaf is false everywhere.
fn compile(out: &mut Sql, expr: &Expr, neg: bool) {
    match expr {
        Expr::And(list) | Expr::Or(list) => {
            let is_and = matches!(expr, Expr::And(_)) != neg;
            if list.is_empty() {
                out.push(if is_and { "TRUE" } else { "FALSE" });
                return;
            }
            let op = if is_and { " AND " } else { " OR " };
            out.push("(");
            balanced(out, list, op, &mut |out, e| compile(out, e, neg));
            out.push(")");
        }
        Expr::Not(e) => compile(out, e, !neg),
        leaf => {
            if neg {
                out.push("NOT COALESCE(");
                compile_leaf(out, leaf);
                out.push(", FALSE)");
            } else {
                compile_leaf(out, leaf);
            }
        }
    }
}

/// Joins `items` with `op` as a balanced tree of parenthesised halves, so that a list of
/// thousands of values does not make an expression thousands deep.
fn balanced<T>(out: &mut Sql, items: &[T], op: &str, each: &mut dyn FnMut(&mut Sql, &T)) {
    match items {
        [] => {}
        [one] => each(out, one),
        _ => {
            let (left, right) = items.split_at(items.len() / 2);
            out.push("(");
            balanced(out, left, op, each);
            out.push(op);
            balanced(out, right, op, each);
            out.push(")");
        }
    }
}

fn compile_leaf(out: &mut Sql, leaf: &Expr) {
    match leaf {
        Expr::Exists { field } => compile_exists(out, field),
        Expr::Compare { field, op, value } => match op {
            CmpOp::Ne => {
                out.push("(");
                compile_exists(out, field);
                out.push(" AND NOT COALESCE(");
                compile_compare(out, field, "=", value);
                out.push(", FALSE))");
            }
            op => compile_compare(out, field, op.as_str(), value),
        },
        Expr::In { field, values } => {
            out.push("(");
            if values.is_empty() {
                out.push("FALSE");
            }
            balanced(out, values, " OR ", &mut |out, v| {
                compile_compare(out, field, "=", v)
            });
            out.push(")");
        }
        Expr::Contains { field, needle } => {
            let text = match (kind_of(field), exact_column(field)) {
                (Kind::Text, Some(col)) => format!("lower({col})"),
                (Kind::Text, None) => format!("lower({} COLLATE \"C\")", member_text(field)),
                (Kind::Integer, Some(col)) => format!("{col}::text"),
                (Kind::Integer, None) => member_text(field),
                (Kind::Json, _) => {
                    let m = member(field);
                    format!(
                        "(CASE WHEN jsonb_typeof({m}) = 'string' THEN lower({} COLLATE \"C\") END)",
                        member_text(field)
                    )
                }
                (Kind::Float | Kind::Boolean, _) => {
                    out.push("FALSE");
                    return;
                }
            };
            // lower() under the "C" collation folds ASCII only, as SQLite's and the filter's.
            let p = out.param(needle.clone(), "text");
            out.push(&format!("(strpos({text}, {p}) > 0)"));
        }
        Expr::InNetwork { field, network } => {
            let lo = out.param(ip_key(network.network()), "bytea");
            let hi = out.param(ip_key(network.broadcast()), "bytea");
            let key = if field == "source.ip" {
                "source_ip_key".to_owned()
            } else {
                format!("fw_ip_key({})", member_text(field))
            };
            out.push(&format!("({key} BETWEEN {lo} AND {hi})"));
        }
        // `compile` handles these before it reaches a leaf.
        Expr::And(_) | Expr::Or(_) | Expr::Not(_) => compile(out, leaf, false),
    }
}

/// Writes the condition of a query's range and filter (without visibility or paging).
pub(super) fn unrestricted_clause(out: &mut Sql, q: &EventQuery) -> Result<()> {
    out.push("TRUE");
    if let Some(since) = q.range.since {
        out.push(" AND time >= ").bind(since, "int8");
    }
    if let Some(until) = q.range.until {
        out.push(" AND time <= ").bind(until, "int8");
    }
    if let Some(f) = &q.filter {
        validate_expr(f.expr())?;
        out.push(" AND ");
        compile(out, f.expr(), false);
    }
    Ok(())
}

/// Writes the whole condition of a query: range, filter and the TLP rule (without paging).
pub(super) fn where_clause(out: &mut Sql, q: &EventQuery) -> Result<()> {
    unrestricted_clause(out, q)?;
    if let Some(v) = &q.visibility {
        let branches = visibility_branches(out, v);
        let _ = write!(out.text, " AND (({}))", branches.join(") OR ("));
    }
    Ok(())
}

/// The TLP 2.0 rule for `v` (`firewatch_core::access::may_read`) as conditions on columns,
/// one per way of being allowed to read an event, each an equality prefix of one of the
/// `events_by_tlp_*` indexes (or the recipients table). Binds the team once.
pub(super) fn visibility_branches(out: &mut Sql, v: &EventVisibility) -> Vec<String> {
    let team = match v {
        EventVisibility::Anonymous => return vec!["tlp = 'CLEAR'".to_owned()],
        EventVisibility::Team(t) => out.param(t.clone(), "text"),
    };
    vec![
        "tlp = 'CLEAR'".to_owned(),
        "tlp = 'GREEN'".to_owned(),
        format!("tlp = 'AMBER' AND owner = {team}"),
        format!("tlp = 'AMBER' AND team = {team}"),
        format!("tlp = 'AMBER+STRICT' AND owner = {team}"),
        format!(
            "(tlp IS NULL OR tlp = 'RED') AND id IN \
             (SELECT event_id FROM event_recipients WHERE team = {team})"
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Stats keys: grouped in SQL, ordered here exactly as the SQLite backend orders them.

/// The SQL of a compiled filter, for the unit test.
#[cfg(test)]
fn filter_sql(f: &firewatch_core::filter::Filter) -> Sql {
    let mut sql = Sql::default();
    compile(&mut sql, f.expr(), false);
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use firewatch_core::filter::Filter;

    #[test]
    fn filters_compile_with_bound_values_and_balanced_lists() {
        let f = Filter::parse("source.geolocation.cc = JP and not extra.team ~ 'x'").unwrap();
        let sql = filter_sql(&f);
        assert!(!sql.text.contains("JP"), "{}", sql.text);
        assert_eq!(sql.params.len(), 2, "{}", sql.text);
        let list: Vec<String> = (0..1000)
            .map(|i| format!("10.0.{}.{}", i / 250, i % 250))
            .collect();
        let f = Filter::parse(&format!("destination.ip in ({})", list.join(", "))).unwrap();
        let sql = filter_sql(&f);
        let depth = sql
            .text
            .chars()
            .scan(0i32, |d, c| {
                *d += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                Some(*d)
            })
            .max();
        assert!(depth < Some(40), "{depth:?}");
    }

    /// The schema's `fw_ip_key` (for `field = network` on fields without a key column) reads
    /// text as Rust's address parser does.
    #[test]
    fn the_sql_ip_key_is_the_rust_one() {
        let mut store = crate::PgStore::scratch(&crate::postgres::test_url()).unwrap();
        for text in [
            "192.0.2.1",
            "0.0.0.0",
            "255.255.255.255",
            "010.0.0.1",
            "1.2.3",
            "1.2.3.4.5",
            "256.0.0.1",
            "1.2.3.4/32",
            " 1.2.3.4",
            "::",
            "::1",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "2001:db8::1",
            "2001:DB8::1",
            "1:2:3:4:5:6:7:8",
            "1::2::3",
            "12345::1",
            "fe80::1%eth0",
            "2001:db8::/32",
            "abc",
            "",
            "[1]",
        ] {
            let row = store
                .client
                .query_one("SELECT fw_ip_key($1)", &[&text])
                .unwrap();
            let sql: Option<Vec<u8>> = row.get(0);
            assert_eq!(sql, ip_key_text(text), "{text:?}");
        }
    }

    #[test]
    fn ip_keys_sort_within_family() {
        let a = ip_key("10.0.0.1".parse().unwrap());
        let b = ip_key("10.0.1.0".parse().unwrap());
        assert!(a < b && a.len() == 5);
        assert_eq!(ip_key("::1".parse().unwrap()).len(), 17);
    }
}
