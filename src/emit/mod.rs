//! Emit stage: [`Ir`] → text of one target, through a view model and a minijinja template.
//! Templates may print data only through a quoting filter; the formatter refuses anything
//! else, so raw text reaches the output only where a template says `|safe` (command text).

mod bash;
pub(crate) mod escape;
mod github;
mod make;
mod runtime;

use minijinja::value::Object;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Value};

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::Ir;
use crate::text::Text;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// A standalone bash script (build.sh).
    #[default]
    Bash,
    /// A Makefile with one target per phase.
    Make,
    /// A GitHub Actions workflow.
    Github,
    /// yml2sh's intermediate representation, for debugging and review.
    Ir,
}

/// Options for the back-ends.
#[derive(Clone, Debug)]
pub struct EmitOptions {
    /// Number of parallel nodes (CircleCI kept it in the web UI). GitHub: matrix size.
    pub nodes: u32,
    /// GitHub: emit a deployment that no test command gates (CircleCI 1.0 did deploy it).
    pub allow_untested_deploy: bool,
    /// The version stamped in generated files' headers.
    pub version: String,
}

impl Default for EmitOptions {
    fn default() -> Self {
        EmitOptions {
            nodes: 1,
            allow_untested_deploy: false,
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// Renders the target; `None` after pushing an error when the template failed (a yml2sh bug).
pub fn emit(
    ir: &Ir,
    target: Target,
    options: &EmitOptions,
    diags: &mut Diagnostics,
) -> Option<Text> {
    let result = match target {
        Target::Ir => Ok(Text::from(ir.to_string())),
        Target::Bash => bash::emit(ir, options),
        Target::Github => github::emit(ir, options, diags).map(Text::from),
        Target::Make => make::emit(ir, options).map(Text::from),
    };
    match result {
        Ok(text) => Some(text),
        Err(e) => {
            diags.push(Diagnostic::error(
                Code::Io,
                None,
                format!("internal error while writing the {target:?} output (a yml2sh bug): {e}"),
            ));
            None
        }
    }
}

/// What [`emit`] would report about the target, without writing it: a back-end decides its
/// findings before it renders anything (the GitHub workflow's `capabilities`; build.sh and the
/// Makefile have none), so `check` need not render three outputs to throw them away.
pub fn findings(ir: &Ir, target: Target, options: &EmitOptions, diags: &mut Diagnostics) {
    if target == Target::Github {
        github::capabilities(ir, options, diags);
    }
}

/// A command's first line as a one-line listing shows it (build.sh's header, `make help`),
/// with ` …` when more lines follow.
pub(crate) fn title_line(code: &crate::ir::ShellCode) -> String {
    let more = if code.as_str().trim().contains('\n') {
        " …"
    } else {
        ""
    };
    format!("{}{more}", code.title())
}

fn safe(s: String) -> Value {
    Value::from_safe_string(s)
}

/// The one template environment: templates embedded in the binary, quoting filters registered.
pub(crate) fn environment() -> Environment<'static> {
    // Only the builtins the templates use: registering all of minijinja's filters, tests and
    // functions was a twentieth of a small compilation (bench/compile).
    let mut env = Environment::empty();
    env.add_filter("join", minijinja::filters::join);
    env.add_filter("last", minijinja::filters::last);
    env.add_filter("length", minijinja::filters::length);
    env.add_function("namespace", minijinja::functions::namespace);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::Custom("yml2sh"));
    env.set_formatter(|out, state, value| {
        let _ = state;
        if let Some(verbatim) = value.downcast_object_ref::<Verbatim>() {
            // yml2sh's own text: only where the template says `|safe`, as for any raw text, and
            // as a NUL that `render` replaces with a reference to it.
            return match verbatim.safe {
                true => out
                    .write_fmt(format_args!("{PLACEHOLDER}"))
                    .map_err(Error::from),
                false => Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "verbatim text printed without `|safe`",
                )),
            };
        }
        if value.is_safe() || value.as_str().is_none() {
            // Numbers, booleans and filter output: their text is what the template means,
            // written as it is (no copy of the runtime's text on the way).
            return match value.as_str() {
                Some(text) => out.write_str(text),
                None => write!(out, "{value}"),
            }
            .map_err(Error::from);
        }
        Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("data {value:?} printed without a quoting filter"),
        ))
    });
    // minijinja's `safe`, except that [`Verbatim`] text stays uncopied.
    env.add_filter("safe", |v: Value| {
        match v.downcast_object_ref::<Verbatim>() {
            Some(_) => Value::from_object(Verbatim { safe: true }),
            None => safe(v.to_string()),
        }
    });
    env.add_filter("sh", |s: &str| safe(escape::sh_quote(s)));
    env.add_filter("shcall", |words: Vec<String>| {
        safe(escape::sh_call(&words, "  "))
    });
    env.add_filter("shwords", |words: Vec<String>| {
        safe(escape::sh_words(&words))
    });
    env.add_filter("shq", |s: &str| safe(escape::sh_quote_always(s)));
    env.add_filter("dq", |s: &str| safe(escape::sh_dquote_live(s)));
    env.add_filter("mk", |s: &str| safe(escape::make_recipe(s)));
    env.add_filter("mkvar", |s: &str| safe(escape::make_var(s)));
    env.add_filter("mksh", |s: &str| safe(escape::make_sh(s)));
    env.add_filter("mktext", |s: &str| safe(escape::make_text(s)));
    env.add_filter("mkcomment", |s: &str| safe(escape::make_comment(s)));
    // One comment line of build.sh: the same rules hold for bash.
    env.add_filter("comment", |s: &str| safe(escape::make_comment(s)));
    // Raw code, like a heredoc body: the template must still say `|safe` after it.
    env.add_filter("mkblock", |s: &str, tag: &str| escape::make_block(s, tag));
    env.add_filter("yaml", |s: &str| safe(escape::yaml_str(s)));
    env.add_filter("gha", |s: &str| safe(escape::gha_literal(s)));
    env.add_filter("slug", |s: &str| safe(escape::slug(s)));
    env.add_filter("heredoc_tag", |s: &str, base: &str| {
        safe(escape::heredoc_tag(s, base))
    });
    env.add_filter("plain", |s: &str| safe(escape::yaml_plain(s)));
    env.add_filter("inline", |s: &str| safe(escape::yaml_inline(s)));
    // A value: one line as a plain or double-quoted scalar, more as a literal block.
    env.add_filter("scalar", |s: &str, indent: usize| {
        safe(if s.contains('\n') {
            escape::yaml_block(s, indent)
        } else {
            escape::yaml_inline(s)
        })
    });
    // A script: one line as a plain scalar where it reads back unchanged, else a literal block.
    env.add_filter("script", |s: &str, indent: usize| {
        let line = s.trim_end_matches('\n');
        let inline = escape::yaml_inline(line);
        safe(
            if !line.contains('\n') && !line.is_empty() && inline == line {
                inline
            } else {
                escape::yaml_block(s, indent)
            },
        )
    });
    env.add_filter("block", |s: &str, indent: usize| {
        safe(escape::yaml_block(s, indent))
    });
    env
}

/// Where a template prints text of yml2sh's own (the 60 KB runtime), never copied: the template
/// says `{{ runtime|safe }}` as for any raw text, the formatter writes a placeholder, and
/// [`render`], given the texts, gives back a [`Text`] that refers to each `&'static str` there.
/// As a string value the runtime was copied three times (into the context, by `safe`, into a
/// safe string) and once more into the output: in a small compile, about a quarter of the page
/// faults.
#[derive(Debug)]
pub(crate) struct Verbatim {
    /// Passed through `|safe`: only then may the formatter print it.
    safe: bool,
}

impl Object for Verbatim {}

impl Verbatim {
    pub(crate) fn value() -> Value {
        Value::from_object(Verbatim { safe: false })
    }
}

/// What the formatter prints for a [`Verbatim`]. No rendered text holds a NUL otherwise:
/// lowering refuses one anywhere in a config (bash cannot carry it), and templates have none.
const PLACEHOLDER: char = '\0';

/// Renders a template into a buffer made `capacity` bytes large at once (an output that doubles
/// its way up copies itself at each step and touches twice its size in fresh pages; pages of a
/// `capacity` too large are never touched). `verbatim` are the texts of the view's
/// [`Verbatim`]s in the order the template prints them, each exactly once.
pub(crate) fn render(
    name: &str,
    view: impl serde::Serialize,
    capacity: usize,
    verbatim: &[&'static str],
) -> Result<Text, Error> {
    render_with(&template(name)?, view, capacity, verbatim)
}

fn render_with(
    template: &minijinja::Template<'_, '_>,
    view: impl serde::Serialize,
    capacity: usize,
    verbatim: &[&'static str],
) -> Result<Text, Error> {
    let name = template.name();
    let mut out = Vec::with_capacity(capacity);
    template.render_captured_to(view, &mut out)?;
    let printed = String::from_utf8(out)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
    // The text between the placeholders, and where each verbatim text goes in it.
    let mut rendered = String::with_capacity(printed.len());
    let mut at = Vec::with_capacity(verbatim.len());
    for (k, piece) in printed.split(PLACEHOLDER).enumerate() {
        if k > 0 {
            at.push(rendered.len());
        }
        rendered.push_str(piece);
    }
    if at.len() != verbatim.len() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "{name} printed {} verbatim texts where its view has {}",
                at.len(),
                verbatim.len()
            ),
        ));
    }
    let inserts = at.into_iter().zip(verbatim.iter().copied()).collect();
    Ok(Text::new(rendered, inserts))
}

/// The embedded templates, by name.
const TEMPLATES: [(&str, &str); 4] = [
    (github::TEMPLATE_NAME, github::TEMPLATE),
    (bash::TEMPLATE_NAME, bash::TEMPLATE),
    (make::TEMPLATE_NAME, make::TEMPLATE),
    (runtime::DATA_TEMPLATE_NAME, runtime::DATA_TEMPLATE),
];

/// A template of [`TEMPLATES`], compiled the first time a back-end asks for it and only then
/// (parsing a template is most of a small compilation's cost), once per process, in the one
/// environment of the process: `yml2sh -f bash` never parses the workflow template, and builds
/// the filters once for build.sh's two templates.
pub(crate) fn template(name: &str) -> Result<minijinja::Template<'static, 'static>, Error> {
    static PROCESS: Templates = Templates::new();
    PROCESS.get(name)
}

/// The environment of [`template`] and how many times each template was compiled in it (the
/// loader runs once per template the environment has not compiled yet).
struct Templates {
    env: std::sync::OnceLock<Environment<'static>>,
    compiled: [std::sync::atomic::AtomicUsize; TEMPLATES.len()],
}

impl Templates {
    const fn new() -> Templates {
        Templates {
            env: std::sync::OnceLock::new(),
            compiled: [const { std::sync::atomic::AtomicUsize::new(0) }; TEMPLATES.len()],
        }
    }

    fn get(&'static self, name: &str) -> Result<minijinja::Template<'static, 'static>, Error> {
        self.env
            .get_or_init(|| {
                let mut env = environment();
                env.set_loader(move |name| {
                    let Some(i) = TEMPLATES.iter().position(|(n, _)| *n == name) else {
                        return Ok(None);
                    };
                    self.compiled[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    Ok(Some(TEMPLATES[i].1.to_string()))
                });
                env
            })
            .get_template(name)
    }

    /// How many times each template was compiled, by name.
    #[cfg(test)]
    fn compiled(&self) -> Vec<(&'static str, usize)> {
        TEMPLATES
            .iter()
            .zip(&self.compiled)
            .map(|((name, _), n)| (*name, n.load(std::sync::atomic::Ordering::Relaxed)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_compiles() {
        for (name, _) in TEMPLATES {
            assert!(template(name).is_ok(), "{name}");
        }
        assert!(template("nope.j2").is_err());
    }

    #[test]
    fn a_template_is_compiled_when_first_asked_for_and_only_then() {
        let templates: &'static Templates = Box::leak(Box::new(Templates::new()));
        let none: Vec<_> = TEMPLATES.iter().map(|(name, _)| (*name, 0)).collect();
        assert_eq!(templates.compiled(), none, "nothing before it is asked for");
        // What build.sh asks for, twice: its own template and the data block's.
        for _ in 0..2 {
            templates.get(bash::TEMPLATE_NAME).unwrap();
            templates.get(runtime::DATA_TEMPLATE_NAME).unwrap();
        }
        let once = |name: &str| {
            usize::from(name == bash::TEMPLATE_NAME || name == runtime::DATA_TEMPLATE_NAME)
        };
        let expected: Vec<_> = TEMPLATES
            .iter()
            .map(|(name, _)| (*name, once(name)))
            .collect();
        assert_eq!(
            templates.compiled(),
            expected,
            "each once, the workflow's never"
        );
        assert!(templates.get("nope.j2").is_err());
    }

    #[test]
    fn verbatim_text_is_printed_as_it_is_only_through_safe() {
        let view = minijinja::context! { runtime => Verbatim::value(), x => "a b" };
        let mut env = environment();
        env.add_template("bare", "[{{ runtime }}]").unwrap();
        env.add_template("t", "<{{ runtime|safe }}|{{ x|sh }}|{{ runtime|safe }}>")
            .unwrap();
        // Like any raw text, it is printed only where the template says `|safe`.
        assert!(env.get_template("bare").unwrap().render(&view).is_err());
        let t = env.get_template("t").unwrap();
        let text = render_with(&t, &view, 0, &["R\n", "R\n"]).unwrap();
        assert_eq!(text.to_string(), "<R\n|'a b'|R\n>");
        assert_eq!(
            text.parts().collect::<Vec<_>>(),
            ["<", "R\n", "|'a b'|", "R\n", ">"]
        );
        // A placeholder count that is not the view's is an internal error, not a wrong file.
        assert!(render_with(&t, &view, 0, &["R\n"]).is_err());
        // The embedded build.sh template, rendered through `render`, keeps the runtime whole.
        let ir = crate::lower(
            &crate::source::Source::new("circle.yml", "test:\n  override:\n    - echo hi\n"),
            &crate::Options::default(),
        )
        .unwrap()
        .0;
        let text = bash::emit(&ir, &EmitOptions::default()).unwrap();
        assert!(text.parts().any(|p| p == runtime::RUNTIME));
        let text = text.to_string();
        assert!(!text.contains('\0'));
        assert!(text.contains(runtime::RUNTIME));
        assert_eq!(text.matches(runtime::RUNTIME).count(), 1);
    }

    #[test]
    fn unquoted_data_is_refused() {
        let mut env = environment();
        env.add_template("t", "{{ x }}").unwrap();
        let t = env.get_template("t").unwrap();
        assert!(t.render(minijinja::context! { x => "a'b" }).is_err());
        assert_eq!(t.render(minijinja::context! { x => 3 }).unwrap(), "3");
    }

    #[test]
    fn filters_quote_and_template_syntax_in_data_stays_data() {
        let mut env = environment();
        env.add_template("t", "{{ x|sh }} {{ x|safe }}").unwrap();
        let t = env.get_template("t").unwrap();
        let out = t.render(minijinja::context! { x => "{{ .Id }}" }).unwrap();
        assert_eq!(out, "'{{ .Id }}' {{ .Id }}");
    }
}
