//! Runs the built `ecwid-stock` as a user would: a child process, its settings in its
//! environment (nothing inherited from the test's), against a fake store the test started on
//! 127.0.0.1.

use std::process::Stdio;

use ecwid_inventory_fake::{demo, FakeStore, FakeStoreBuilder, LedgerEntry};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_ecwid-stock");

/// What a run printed, and its exit code.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics, showing the whole output, unless the run exited with `code`.
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(self.code, code, "exit code of {self:#?}");
        self
    }

    /// stdout as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not one JSON document ({error}): {self:#?}"))
    }

    /// stdout and stderr together, to search for what must never be shown.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs the binary with `args` and exactly the environment `env`.
pub async fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("the binary runs");
    Run {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

/// A fake store and the settings that point the command line at it.
pub struct Shop {
    pub fake: FakeStore,
    pub token: String,
}

impl Shop {
    /// The demo shop (`fake::demo`), reached with its secret token.
    pub async fn demo() -> Shop {
        Shop::start(
            FakeStore::builder()
                .store(demo::store())
                .tokens(demo::tokens()),
            demo::TOKEN,
        )
        .await
    }

    /// A fake from `builder`, reached with `token`.
    pub async fn start(builder: FakeStoreBuilder, token: &str) -> Shop {
        Shop {
            fake: builder.start().await.expect("the fake starts"),
            token: token.to_owned(),
        }
    }

    /// `ECWID_API_URL`, `ECWID_STORE_ID` and `ECWID_TOKEN` for this fake.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ECWID_API_URL", self.fake.base_url()),
            ("ECWID_STORE_ID", demo::STORE.to_string()),
            ("ECWID_TOKEN", self.token.clone()),
        ]
    }

    /// Runs the binary against this fake.
    pub async fn run(&self, args: &[&str]) -> Run {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run(args, &env).await
    }

    /// Runs the binary against this fake with `extra` added to (or replacing) its settings, or
    /// without the variables named with an empty value.
    pub async fn run_with(&self, args: &[&str], extra: &[(&'static str, &str)]) -> Run {
        let mut env: Vec<(&str, String)> = self.env();
        for (name, value) in extra {
            env.retain(|(n, _)| n != name);
            if !value.is_empty() {
                env.push((name, (*value).to_owned()));
            }
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run(args, &env).await
    }

    /// How many requests reached the fake.
    pub fn requests(&self) -> usize {
        self.fake.requests().len()
    }

    /// The requests that could change a stock: anything but a read, or a batch of reads.
    pub fn writes(&self) -> usize {
        self.fake
            .requests()
            .iter()
            .filter(|r| match r.method.as_str() {
                "GET" => false,
                // A batch create changes stock only through its PUT items.
                "POST" => r.body.contains("\"PUT\""),
                _ => true,
            })
            .count()
    }

    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.fake.ledger()
    }
}

/// `ecwid-stock fake ARGS` running in the background, killed when dropped.
pub struct Serving {
    /// Held for its `kill_on_drop`.
    _child: Child,
    /// Its first line of stdout.
    pub first_line: String,
    pub lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Serving {
    /// Starts the fake command and waits for its first line (it prints once it listens).
    pub async fn start(args: &[&str]) -> Serving {
        let mut child = Command::new(BIN)
            .arg("fake")
            .args(args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first_line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the fake command prints once it listens");
        Serving {
            _child: child,
            first_line,
            lines,
        }
    }

    /// The next line of stdout.
    pub async fn next_line(&mut self) -> String {
        self.lines.next_line().await.unwrap().expect("another line")
    }
}
