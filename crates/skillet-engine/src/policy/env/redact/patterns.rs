//! The patterns the redaction passes match, each compiled the first time a text might need
//! it.

use std::sync::OnceLock;

use regex::Regex;

fn compiled(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    // The patterns are constants, each compiled by `every_pattern_compiles` (redact/tests.rs).
    #[allow(clippy::expect_used)]
    cell.get_or_init(|| Regex::new(pattern).expect("a constant pattern"))
}

/// Each pattern a function that compiles it the first time it is asked for.
macro_rules! patterns {
    ($($(#[$doc:meta])* $name:ident = $pattern:expr;)*) => {
        $(
            $(#[$doc])*
            pub(super) fn $name() -> &'static Regex {
                static P: OnceLock<Regex> = OnceLock::new();
                compiled(&P, $pattern)
            }
        )*
    };
}

patterns! {
    /// A PEM private key, up to its end line or the end of the text.
    private_key = r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)";

    /// `scheme://user:password@…`: the password is everything up to the word's last `@` (it may
    /// hold `/` or `@` itself).
    url_password = r"([A-Za-z][A-Za-z0-9+.-]*://)([^\s:/@]*):\S*@";

    /// `scheme://TOKEN@…`: a user name long enough to be a token (GitHub's
    /// `https://ghp_…@github.com`, a webhook's key), where a person's name would be short.
    url_token_user = r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s:/@]{16,}@";

    /// `<password>X</password>`, with attributes or a namespace (`<wsse:Password type="…">`) and
    /// a CDATA section: the element's name (checked by the caller, as the names must match), the
    /// CDATA's text or the plain text, and the closing name.
    xml_element = r"<([A-Za-z_][A-Za-z0-9_.:-]*)(?:\s[^<>]*)?>(?:<!\[CDATA\[(.*?)\]\]>|([^<\n]+))</([A-Za-z_][A-Za-z0-9_.:-]*)>";

    /// `key="Password" value="X"` and `name="password" value="X"` (.NET's `<add>`, Java's
    /// `<property>`): the name and the value.
    xml_name_value = r#"(\b(?:key|name)\s*=\s*["']([^"'\n]{1,80})["']\s+value\s*=\s*["'])([^"'\n]*)"#;

    /// `name: DB_PASSWORD` and on the next line `value: X` (a Kubernetes container's `env`): the
    /// name and the value.
    yaml_name_value = r#"(?m)(^[ \t]*(?:-[ \t]+)?name:[ \t]*["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?[ \t]*\r?\n[ \t]*value:[ \t]*["']?)([^"'\n]*)"#;

    /// SQL that sets a password: `IDENTIFIED BY 'x'` (also `IDENTIFIED WITH plugin BY`),
    /// `PASSWORD 'x'` (`CREATE ROLE … PASSWORD`), `PASSWORD('x')`.
    sql_password = r"(?i)(\b(?:identified\s+(?:with\s+\S+\s+)?by\s*|password(?:\s+|\s*\(\s*))')[^'\n]*";

    /// A query parameter that carries a secret (`?sig=…` of an Azure SAS URL, `&access_token=…`).
    query_secret = r"(?i)([?&](?:sig|signature|token|access_token|id_token|refresh_token|api_key|apikey|key|password|passwd|secret|client_secret|auth)=)[^&\s#]{4,}";

    /// fish's `set -x NAME VALUE` (and `-gx`, `-Ux`): the name and the value.
    fish_set = r"(\bset\s+-[A-Za-z]*x[A-Za-z]*\s+([A-Za-z_][A-Za-z0-9_]*)\s+)(\S+)";

    /// A `.netrc` line: `machine HOST login USER password X`.
    netrc = r"(\b(?:machine|default)\b[^\n]*?\b(?:password|passwd)\s+)\S+";

    /// `("KEY", "VALUE")` and `["KEY", "VALUE"]`: PHP's `define('DB_PASSWORD', '…')`, pairs in
    /// arrays. The key (checked by the caller) and the value, double or single quoted.
    quoted_pair = r#"(["'](?P<key>[A-Za-z_$][A-Za-z0-9_.:-]*)["']\s*,\s*)(?:"(?P<dq>(?:[^"\\\n]|\\.)*)"|'(?P<sq>[^'\n]*)')"#;

    /// A line that is only `key: value` or `key=value` (YAML, properties, `env`): the value is the
    /// rest of the line, blanks included (`password: correct horse battery staple`); not a line
    /// of `;`-separated settings (`Password=x;Server=db`), which the settings pass splits.
    yaml_line = r#"(?m)^(?P<pre>[ \t]*(?:-[ \t]+)?["']?(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)["']?[ \t]*(?::[ \t]+|=[ \t]*))(?P<value>[^\s"'#|>\[{&*!%@`;][^\n#;]*?)[ \t]*\r?$"#;

    /// A `Cookie:` or `Set-Cookie:` header line (as `curl -v` prints it too): which, and its
    /// pairs.
    cookie_header = r"(?im)^(?P<pre>[ \t<>]*(?P<which>set-cookie|cookie)[ \t]*:[ \t]*)(?P<pairs>[^\n]*)$";

    /// One `name=value` pair of a cookie header.
    cookie_pair = r"([^=;\s]+=)([^;\s]*)";

    /// `Bearer X`, `Basic X`, and `Authorization: token X`.
    authorization = r"(?i)(\b(?:bearer|basic)\s+|\bauthorization:\s*(?:token\s+)?)[A-Za-z0-9._~+/=-]{8,}";

    /// `key = value`, `key: value`, `"key": "value"`, `'key': 'value'`, `key=\"value\"`, and
    /// the joiners of other languages (`:key => "value"` in Ruby, Perl and PHP, `key := value` in
    /// Go and Make; `$cfg["key"] = …`): the key, what joins it, an opening quote (escaped or
    /// not), and the value up to a blank, a quote or a separator.
    setting = r#"(?P<key>(?:\$[Ee][Nn][Vv]:)?[A-Za-z_][A-Za-z0-9_.-]*)(?P<join>\\*["']?\]?[ \t]*(?:=>|:=|\?=|\+=|[=:])[ \t]*\[?[ \t]*)(?:"""(?P<tq>(?s:.*?))"""|"(?P<dq>(?:[^"\\\n]|\\.)*)"|'(?P<sq>[^'\n]*)'|(?P<wrap>[A-Za-z_][A-Za-z0-9_:]*\(\s*)"(?P<wq>(?:[^"\\\n]|\\.)*)"|(?P<open>\\*["']?)(?P<bare>[^\s"'\\;,&:][^\s"'\\;,&]*))"#;

    /// Command-line options that take a secret: any long option naming one (`--password X`,
    /// `--client-secret X`, `--access-token=X`; not a value starting with `-`), curl's
    /// `-u user:password`, smbclient's `-U user%password`, keytool's `-storepass X`, and the short
    /// options of the tools where they are a password (the MySQL and MariaDB clients'
    /// `-pSECRET`, `sshpass -p`, `… login -p`, `redis-cli -a`, `ldapsearch -w`): elsewhere `-p`
    /// is a port, a path or a flag (`mkdir -p`, `gcc -pthread`), so it is taken only after one of
    /// those tools' names.
    flag = r"(?P<pre>--[a-z0-9-]*(?:password|passwd|passphrase|token|secret|api-key|apikey|storepass|keypass)[= ]\s*|\s(?:-u\s*|--user[= ])[^\s:-][^\s:]*:|\s-U\s+[^\s%]+%|\b(?:mysql[a-z_-]*|mariadb[a-z_-]*|mongo[a-z]*|7za?)\b[^\n]*?\s-p\s*|\bzip\b[^\n]*?\s-P\s+|\s-pass\s+pass:|\bsshpass\s+-p\s*|\blogin\b[^\n]*?\s-p\s+|\bredis-cli\b[^\n]*?\s-a\s+|\bldap[a-z]*\b[^\n]*?\s-w\s+|\s-(?:src|dest)?(?:storepass|keypass)\s+)(?P<value>[^\s-]\S{3,})";
}
