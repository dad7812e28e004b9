//! Notice texts from minijinja templates. The defaults ship in the crate
//! (`src/templates/`); a team's policy may name its own (any language).
//!
//! Whatever the template says, the TLP label leads the subject (`[TLP:AMBER] …`) and the
//! body's first line: the code adds it, so no template can drop it.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::NotifyError;
use crate::item::NoticeItem;

/// The built-in subject template.
pub const DEFAULT_SUBJECT: &str = include_str!("templates/subject.txt");
/// The built-in body template.
pub const DEFAULT_BODY: &str = include_str!("templates/body.txt");

/// A team as templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct TeamView {
    pub id: String,
    pub name: String,
    /// The team's TLP cap (`TLP:AMBER`).
    pub max_tlp: String,
}

/// Everything a template may use.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeContext<'a> {
    pub team: TeamView,
    pub sender: TeamView,
    /// `digest` or `alert`.
    pub kind: &'a str,
    /// The notice's TLP label.
    pub tlp: String,
    /// UTC date of the notice (`2026-11-23`).
    pub date: String,
    pub count: usize,
    pub items: &'a [NoticeItem],
    /// Records left out because of the team's TLP cap.
    pub withheld: usize,
    /// The attachment's file name.
    pub attachment: String,
    pub notice_id: &'a str,
}

/// The subject and body templates of one policy, compiled.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compiles a subject template and a body template (`origin` names the body in errors).
    pub fn new(subject: &str, body: &str, origin: &str) -> Result<Templates, NotifyError> {
        let mut env = Environment::new();
        // A misspelt variable is an error, not an empty string in a notice.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_template_owned("subject", subject.to_string())
            .map_err(|e| NotifyError::Template(format!("subject template: {e}")))?;
        env.add_template_owned("body", body.to_string())
            .map_err(|e| NotifyError::Template(format!("{origin}: {e}")))?;
        Ok(Templates { env })
    }

    /// The built-in templates.
    pub fn builtin() -> Templates {
        Templates::new(DEFAULT_SUBJECT, DEFAULT_BODY, "built-in body")
            .expect("built-in templates compile")
    }

    /// `[TLP:…] subject`, on one line.
    pub fn subject(&self, ctx: &NoticeContext<'_>) -> Result<String, NotifyError> {
        let text = self.render("subject", ctx)?;
        let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        Ok(format!("[{}] {one_line}", ctx.tlp))
    }

    /// The body: the TLP label on the first line, the rendered template, the label again last.
    pub fn body(&self, ctx: &NoticeContext<'_>) -> Result<String, NotifyError> {
        let text = self.render("body", ctx)?;
        Ok(format!("{}\n\n{}\n{}\n", ctx.tlp, text.trim_end(), ctx.tlp))
    }

    fn render(&self, name: &str, ctx: &NoticeContext<'_>) -> Result<String, NotifyError> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| NotifyError::Template(e.to_string()))?;
        tmpl.render(minijinja::value::Serde(ctx))
            .map_err(|e| NotifyError::Template(format!("rendering the {name}: {e:#}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(items: &[NoticeItem]) -> NoticeContext<'_> {
        let view = |id: &str| TeamView {
            id: id.into(),
            name: format!("{id} team"),
            max_tlp: "TLP:AMBER".into(),
        };
        NoticeContext {
            team: view("ke"),
            sender: view("example-cert"),
            kind: "digest",
            tlp: "TLP:GREEN".into(),
            date: "2026-11-23".into(),
            count: items.len(),
            items,
            withheld: 2,
            attachment: "addresses.csv".into(),
            notice_id: "abc",
        }
    }

    #[test]
    fn the_tlp_label_leads_subject_and_body_whatever_the_template() {
        let t = Templates::new(
            "{{ count }} for {{ team.id }}",
            "Hallo {{ team.name }}",
            "x",
        )
        .unwrap();
        let c = ctx(&[]);
        assert_eq!(t.subject(&c).unwrap(), "[TLP:GREEN] 0 for ke");
        assert_eq!(
            t.body(&c).unwrap(),
            "TLP:GREEN\n\nHallo ke team\nTLP:GREEN\n"
        );
    }

    #[test]
    fn the_builtin_body_lists_at_most_a_hundred_records() {
        let items: Vec<NoticeItem> = (0..101)
            .map(|i| {
                let mut e = firewatch_core::Event::new();
                e.set("source.ip", format!("192.0.2.{}", i % 250)).unwrap();
                NoticeItem::from_event(&firewatch_store::StoredEvent {
                    id: i,
                    time: 0,
                    event: e,
                })
            })
            .collect();
        let body = Templates::builtin().body(&ctx(&items)).unwrap();
        assert_eq!(body.lines().filter(|l| l.starts_with("* ")).count(), 100);
        assert!(body.contains("... and 1 more."), "{body}");
    }

    #[test]
    fn the_builtin_body_mentions_withheld_records_and_typos_are_errors() {
        let t = Templates::builtin();
        let body = t.body(&ctx(&[])).unwrap();
        assert!(body.contains("2 further records were left out"), "{body}");
        let bad = Templates::new("{{ cuont }}", "x", "x").unwrap();
        let err = bad.subject(&ctx(&[])).unwrap_err().to_string();
        assert!(err.contains("undefined"), "{err}");
        assert!(Templates::new("{% if %}", "x", "x").is_err());
    }
}
