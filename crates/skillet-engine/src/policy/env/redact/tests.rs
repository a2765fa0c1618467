//! Secrets in every form a program prints them, and what a reader needs that must stay.

use super::redact_credentials;

const GH: &str = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";

fn kept(text: &str) -> String {
    redact_credentials(text).into_owned()
}

#[test]
fn tokens_are_found_whatever_surrounds_them() {
    for line in [
        format!("gh-in-parens ({GH})"),
        format!("token:{GH}"),
        format!("in `{GH}` backticks"),
        format!("<{GH}>"),
        format!("naïve→{GH}←café"),
        "Baſic QWxhZGRpbjpvcGVuc2VzYW1l".to_owned(),
        GH.to_owned(),
        format!("AUTHORIZATION: Token {GH}"),
        format!("url https://api.example/x?access_token={GH}&y=1"),
        "slack xoxb-1234567890-abcdefghij!".to_owned(),
        "aws AKIAIOSFODNN7EXAMPLE here".to_owned(),
    ] {
        let out = kept(&line);
        assert!(out.contains("[redacted]"), "{line} -> {out}");
        assert!(
            !out.contains("0123456789abcdefghij") && !out.contains("IOSFODNN"),
            "{out}"
        );
    }
}

#[test]
fn settings_headers_urls_and_keys_are_redacted() {
    for (line, secret) in [
        (
            "> Authorization: Bearer abcdefOPAQUEbearer1234567890",
            "OPAQUE",
        ),
        ("Authorization: token abcdef0123456789", "abcdef0123"),
        ("Password=hunter2secret;Server=db", "hunter2"),
        ("INFO config: password=hunter2secret", "hunter2"),
        ("Set-Cookie: token=abcdef012345; Path=/", "abcdef0123"),
        ("env=DB_PASSWORD=hunter2secret", "hunter2"),
        ("{'password': 'hunter2secret'}", "hunter2"),
        (
            "host=db user=app password=hunter2secret dbname=app",
            "hunter2",
        ),
        (
            "//registry.npmjs.org/:_authToken=npmsecretvalue42",
            "npmsecret",
        ),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY",
            "wJalr",
        ),
        (r#"{"api_key": "s3cr3t-value-here"}"#, "s3cr3t"),
        ("postgres://app:pa/ss@word@db/app", "pa/ss"),
        (
            "v1.ghp_0123456789abcdefghijklmnopqrstuvwxyzAB~",
            "0123456789abcdef",
        ),
        (
            "| SecretAccessKey | wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY |",
            "wJalrXUtnFEMI",
        ),
        (
            "hook https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "XXXXXXXX",
        ),
        (r#"password=\"hunter2hunter2\""#, "hunter2"),
        ("curl -u admin:hunter2secret https://x", "hunter2"),
        ("mytool --password hunter2secret", "hunter2"),
        ("redis://:onlypassword123@cache:6379", "onlypassword"),
        (r#"{:password => "hunter2secret"}"#, "hunter2"),
        ("'db_password' => 'hunter2secret',", "hunter2"),
        (r#"$config["api_key"] => "s3cr3t-value-here""#, "s3cr3t"),
        ("apiToken := \"s3cr3t-value-here\"", "s3cr3t"),
        ("+ mysql -h db -u root -phunter2secret app", "hunter2"),
        (
            "mysqldump --single-transaction -u app -ps3cr3tvalue db",
            "s3cr3t",
        ),
        ("mariadb-dump -phunter2secret db", "hunter2"),
        ("sshpass -p hunter2secret ssh host", "hunter2"),
        // Keys whose last word names a secret, however short or cased.
        ("DB_PASS=Hunter2Secret", "Hunter2"),
        ("DB_PW=Hunter2Secret", "Hunter2"),
        ("pass='Hunter2Secret'", "Hunter2"),
        ("dbPass: Hunter2Secret", "Hunter2"),
        ("auth=Hunter2Secret", "Hunter2"),
        ("secret_key_base: Hunter2SecretBase", "Hunter2"),
        ("Cookie: session=Hunter2Secret; theme=dark", "Hunter2"),
        // Quoted values are redacted whole, blanks and escaped quotes included.
        ("password = 'Hunter 2 Secret'", "2 Secret"),
        (r#"password="Hunter2\"Secret""#, "Secret"),
        (r#"{"password": "correct horse battery staple"}"#, "horse"),
        ("config: {'token': 'a b c d e f'}", "b c d"),
        // A token as a URL's user name, and XML elements.
        ("https://Hunter2SecretTokenXyz@github.com/x", "Hunter2"),
        ("<password>Hunter2Secret</password>", "Hunter2"),
        ("<db><apiKey>Hunter2Secret</apiKey></db>", "Hunter2"),
        // YAML: a block scalar, or a key whose value is on the lines below.
        (
            "db:\n  password: |\n    Hunter2Secret\n    line2\n  user: app",
            "Hunter2",
        ),
        ("private_key: >-\n  Hunter2Secret\nname: x", "Hunter2"),
        ("token:\n  Hunter2Secret\n", "Hunter2"),
        // Red team, second round.
        ("$env:DB_PASSWORD = \"Hunter2Secret\"", "Hunter2"),
        ("$Env:DB_PASSWORD=\"Hunter2Secret\"", "Hunter2"),
        (r#"{"password": ["Hunter2Secret"]}"#, "Hunter2"),
        (
            r#"<add key="DbPassword" value="Hunter2Secret"/>"#,
            "Hunter2",
        ),
        (
            r#"<property name="password" value="Hunter2Secret"/>"#,
            "Hunter2",
        ),
        (
            r#"<Password encrypted="false">Hunter2Secret</Password>"#,
            "Hunter2",
        ),
        ("<password><![CDATA[Hunter2Secret]]></password>", "Hunter2"),
        ("<wsse:Password>Hunter2Secret</wsse:Password>", "Hunter2"),
        ("machine h login bob password Hunter2Secret", "Hunter2"),
        ("docker login -u bob -p Hunter2Secret", "Hunter2"),
        ("az login -u appid -p Hunter2Secret", "Hunter2"),
        ("redis-cli -a Hunter2Secret ping", "Hunter2"),
        ("ldapsearch -x -w Hunter2Secret -b dc=x", "Hunter2"),
        ("keytool -list -storepass Hunter2Secret", "Hunter2"),
        ("smbclient -U bob%Hunter2Secret //h/s", "Hunter2"),
        ("tool --client-secret Hunter2Secret", "Hunter2"),
        ("tool --access-token=Hunter2Secret", "Hunter2"),
        ("DB_PASSWORD_PROD=Hunter2Secret", "Hunter2"),
        ("PASSWORD2=Hunter2Secret", "Hunter2"),
        ("password.prod=Hunter2Secret", "Hunter2"),
        ("SECRET_VALUE=Hunter2Secret", "Hunter2"),
        ("DBPASS=Hunter2Secret", "Hunter2"),
        ("JWT_KEY=Hunter2Secret", "Hunter2"),
        ("HMAC_KEY=Hunter2Secret", "Hunter2"),
        ("passcode: Hunter2Secret", "Hunter2"),
        ("WALLET_MNEMONIC=\"Hunter2Secret word word\"", "Hunter2"),
        ("define('DB_PASSWORD', 'Hunter2Secret');", "Hunter2"),
        (r#"["password", "Hunter2Secret"]"#, "Hunter2"),
        ("password = \"\"\"Hunter2Secret\"\"\"", "Hunter2"),
        ("password: correct horse battery staple", "battery"),
        ("Cookie: _ga=GA1.2.3; sessionid=Hunter2Secret", "Hunter2"),
        (
            r#"{"body":"{\\\"password\\\":\\\"Hunter2Secret\\\"}"}"#,
            "Hunter2",
        ),
        (
            "env:\n  - name: DB_PASSWORD\n    value: Hunter2Secret\n",
            "Hunter2",
        ),
        // Red team, third round.
        (
            "ya29.a0AfB_byC1234567890abcdefghijklmnopqrstuvwxyzABCDEFG",
            "a0AfB_byC123",
        ),
        (
            "token                hvs.CAESIJ1234567890abcdefghijklmn",
            "CAESIJ123",
        ),
        ("CREATE USER app IDENTIFIED BY 'Hunter2Secret';", "Hunter2"),
        (
            "ALTER ROLE app WITH LOGIN PASSWORD 'Hunter2Secret';",
            "Hunter2",
        ),
        (
            "SET PASSWORD FOR 'app'@'%' = PASSWORD('Hunter2Secret');",
            "Hunter2",
        ),
        (
            r#"{"headers":{"Authorization":"Hunter2Secret"}}"#,
            "Hunter2",
        ),
        (r#"Config { password: Some("Hunter2Secret") }"#, "Hunter2"),
        (r#"token: SecretString("Hunter2Secret")"#, "Hunter2"),
        ("db.password=correct horse Hunter2 staple", "Hunter2"),
        ("DB_PASSWORD=a b Hunter2Secret", "Hunter2"),
        ("set -x DB_PASSWORD Hunter2Secret", "Hunter2"),
        ("set -gx GITHUB_TOKEN Hunter2Secret", "Hunter2"),
        ("DB_PASSWORD ?= Hunter2Secret", "Hunter2"),
        ("API_TOKEN += Hunter2Secret", "Hunter2"),
        (
            "https://acct.blob.core.windows.net/c/b?sv=2020&sig=Hunter2Secret%2B%3D&se=x",
            "Hunter2",
        ),
        ("API_KEY_PROD=Hunter2Secret", "Hunter2"),
        ("SESSION_KEY=Hunter2Secret", "Hunter2"),
        ("STRIPE_SK=Hunter2Secret", "Hunter2"),
        ("curl --user bob:Hunter2Secret https://x", "Hunter2"),
        ("curl -ubob:Hunter2Secret https://x", "Hunter2"),
        ("mongosh -u a -p Hunter2Secret", "Hunter2"),
        ("zip -P Hunter2Secret out.zip f", "Hunter2"),
        ("7z a -pHunter2Secret out.7z f", "Hunter2"),
        ("openssl enc -aes256 -pass pass:Hunter2Secret", "Hunter2"),
    ] {
        let out = kept(line);
        assert!(!out.contains(secret), "{line} -> {out}");
        assert!(out.contains("[redacted]"), "{line} -> {out}");
    }
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\nafter";
    assert_eq!(kept(key), "[redacted private key]\nafter");
    // A key whose end was cut off: everything after its start goes.
    assert_eq!(
        kept("x\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow"),
        "x\n[redacted private key]"
    );
    // A body line on its own (the start line fell outside the tail) is key material.
    assert!(
        kept("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW")
            .contains("[redacted]")
    );
}

#[test]
fn what_a_reader_needs_stays() {
    for line in [
        "commit 3f2a9c0e1b7d4a5f8e6c2b1a0d9e8f7a6b5c4d3e",
        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "id 0190f3a2-7c41-7d2e-9a3b-5f6e7d8c9b0a done",
        "error: cannot open file.txt: permission denied",
        "see https://docs.example.com/path?page=2",
        "passwords checked: 3",
        "token count: 12",
        "Author: Jane Doe",
        "Tokens: 15234",
        "\"private\": false",
        "Session: 0190f3a2-7c41-7d2e-9a3b-5f6e7d8c9b0a",
        "RedactCredentialsForOutputLinesAndThings",
        "mkdir -p build/output && gcc -pthread main.c",
        "ssh -p 2222 host",
        "mysql -h db -P 3306 -u app",
        "opts = {:verbose => true}",
        "x := compute(y)",
        "bypass: true, compass: north",
        "ssh://git@github.com/org/repo.git",
        "<name>value</name>",
        "msg=\"build finished in 3 s\"",
        "steps:\n  - run: |\n      cargo test\n",
        "tokens:\nnext: 1",
        "PWD=/home/me/project",
        "OLDPWD=/tmp",
        "docker run -u 1000:1000 image",
        "secret: false",
        "auth: none",
        "integrity sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==",
        "at _ZN4core9panicking9panic_fmt17h3a1b2c3d4e5f6A7B8C9E",
        "mytool --no-password --verbose",
        // Red team, third round: what a developer reads.
        "test password::tests::hash_roundtrip ... ok",
        "thread 'auth::tests::login' panicked at src/auth.rs:10:5",
        "src/password.rs:123:45: warning: unused variable",
        "tests/test_password.py:123: AssertionError",
        "test test_parse_rfc3339_timestamps_with_UTC_offset ... ok",
        "--- PASS: TestHandleOAuth2CallbackWithPKCE_S256Verifier (0.00s)",
        "let password = config.password.clone();",
        "let token = auth.get_token()?;",
        "def check_password(password: str) -> bool:",
        "api_key = os.environ['API_KEY']",
        "secretName: my-tls-secret",
        "password_file: /run/secrets/db_password",
        "SECRET_NAME=prod/db/creds",
        "INFO auth: user bob logged in",
        "pass: 12 fail: 0",
        "auth=oidc",
        "Auth: OAuth2 enabled",
        "Authorization: required for this endpoint",
        "Basic authentication is disabled",
        "password: ${DB_PASSWORD}",
        "token: <your-token-here>",
        "valueFrom:\n  secretKeyRef:\n    name: app-secrets\n    key: password\n",
        "auth:\n  provider: github\n",
    ] {
        assert_eq!(kept(line), line);
    }
}

#[test]
fn a_yaml_block_loses_its_value_lines_only() {
    assert_eq!(
        kept("db:\n  password: |\n    Hunter2Secret\n\n    line2\n  user: app\nname: x\n"),
        "db:\n  password: |\n    [redacted]\n\n    [redacted]\n  user: app\nname: x\n"
    );
}

#[test]
fn passes_do_not_redact_each_others_work() {
    assert_eq!(
        kept("Cookie: _ga=GA1.2.3; sessionid=Hunter2Secret"),
        "Cookie: _ga=[redacted]; sessionid=[redacted]"
    );
    assert_eq!(
        kept("password: correct horse battery staple"),
        "password: [redacted]"
    );
    assert_eq!(
        kept("< Set-Cookie: token=abcdef012345; Path=/"),
        "< Set-Cookie: token=[redacted]; Path=/"
    );
    assert_eq!(
        kept(r#"<Password encrypted="false">Hunter2Secret</Password>"#),
        r#"<Password encrypted="false">[redacted]</Password>"#
    );
}

#[test]
fn every_pattern_compiles() {
    use super::patterns::*;
    for pattern in [
        private_key(),
        url_password(),
        url_token_user(),
        xml_element(),
        xml_name_value(),
        yaml_name_value(),
        sql_password(),
        query_secret(),
        fish_set(),
        netrc(),
        quoted_pair(),
        yaml_line(),
        cookie_header(),
        cookie_pair(),
        authorization(),
        setting(),
        flag(),
    ] {
        assert!(!pattern.as_str().is_empty());
    }
}
