// Compiled into the integration tests (as `common::postgres`) and the crate's own unit tests
// (src/journal/tests.rs), each using part of it.
#![allow(dead_code)]

//! Real databases for the journal's tests: a SQLite file in a temporary folder, and a real
//! PostgreSQL server (`initdb` and `postgres` from `/usr/lib/postgresql/*/bin`) started on a
//! free loopback port with its data and socket in a temporary folder, stopped and removed when
//! dropped, even when the test fails. As root, the server runs as the `postgres` user (it
//! refuses root).
//!
//! Without PostgreSQL installed the PostgreSQL half of each test is skipped, saying so; with
//! the environment variable `CI` set it fails instead.
//!
//! The including module brings `Journal` into scope (the crate's own, or the public one).

use std::{
    fs::File,
    io::Write,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use super::{Error, Journal, TimeSource};

/// The server's superuser password: tests check it never shows.
pub const PG_PASSWORD: &str = "pg-hunter2-secret";

/// A folder of its own under the system's temporary folder, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(test: &str) -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ecwid-journal-{test}-{}-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A clock the test moves by hand, for the journal's [`JournalBuilder::time_source`].
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<SystemTime>>);

impl TestClock {
    /// Starts on 2026-01-01 at midnight UTC.
    pub fn new() -> TestClock {
        TestClock(Arc::new(Mutex::new(
            UNIX_EPOCH + Duration::from_secs(1_767_225_600),
        )))
    }

    pub fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }

    /// What the journal calls.
    pub fn reader(&self) -> impl Fn() -> SystemTime + Send + Sync + 'static {
        let clock = self.0.clone();
        move || *clock.lock().unwrap()
    }
}

/// Says why a test's PostgreSQL half cannot run: fails under `CI`, otherwise skips it aloud.
fn missing(test: &str, why: &str) -> Option<PgServer> {
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {why}; CI is set, so this fails instead of skipping");
    }
    // Straight to stderr: libtest captures eprintln! of a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test} on PostgreSQL: {why} (apt-get install postgresql)"
    );
    None
}

/// PostgreSQL's programs: the newest `/usr/lib/postgresql/*/bin` that has them.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").exists() && bin.join("postgres").exists()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A real PostgreSQL server of its own. Dropping it stops it and removes its folder.
pub struct PgServer {
    bin: PathBuf,
    dir: TempDir,
    port: u16,
    /// The `postgres` user's uid and gid, when the test runs as root.
    run_as: Option<(u32, u32)>,
    child: Option<Child>,
    /// Whether commits wait for the disk (`fsync`), as in production; tests do without.
    durable: bool,
}

impl PgServer {
    /// Starts one, or returns `None` (after saying which test is skipped and why) when
    /// PostgreSQL is not installed. Panics under `CI`.
    pub fn start(test: &str) -> Option<PgServer> {
        Self::start_with(test, false)
    }

    /// Starts one whose commits wait for the disk, as a production server's do: for
    /// measurements.
    pub fn start_durable(test: &str) -> Option<PgServer> {
        Self::start_with(test, true)
    }

    fn start_with(test: &str, durable: bool) -> Option<PgServer> {
        let Some(bin) = postgres_bin() else {
            return missing(test, "no initdb and postgres in /usr/lib/postgresql/*/bin");
        };
        let run_as = if output("id", &["-u"]).as_deref() == Some("0") {
            let ids = output("id", &["-u", "postgres"]).zip(output("id", &["-g", "postgres"]));
            match ids.and_then(|(u, g)| Some((u.parse().ok()?, g.parse().ok()?))) {
                Some(ids) => Some(ids),
                None => return missing(test, "running as root, and there is no postgres user"),
            }
        } else {
            None
        };
        let dir = TempDir::new(&format!("pg-{test}"));
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let password_file = dir.path().join("password");
        std::fs::write(&password_file, PG_PASSWORD).unwrap();
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&password_file, Some(uid), Some(gid)).unwrap();
        }
        let data = dir.path().join("data");
        let mut server = PgServer {
            bin,
            dir,
            port: free_port(),
            run_as,
            child: None,
            durable,
        };
        let status = server
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-E", "UTF8", "--no-sync"])
            .args(["--auth=scram-sha-256", "--pwfile"])
            .arg(&password_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("initdb runs");
        assert!(status.success(), "initdb failed: {status}");
        // The free port may be taken by another test between finding it and the server
        // binding it: a few other ports are tried, then the failure is reported.
        for _ in 0..5 {
            match server.try_start() {
                Ok(()) => return Some(server),
                Err(log) if log.contains("Address already in use") => server.port = free_port(),
                Err(log) => panic!("postgres exited while starting:\n{log}"),
            }
        }
        panic!("postgres found its port taken 5 times:\n{}", server.log());
    }

    /// One of PostgreSQL's programs, run as the `postgres` user when the test runs as root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        match self.run_as {
            Some((uid, gid)) => {
                let mut command = Command::new("setpriv");
                // setpriv runs the program in its own place (no child of its own): stopping
                // the process started here stops the server.
                command
                    .arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .args(["--init-groups", "--"])
                    .arg(program);
                command
            }
            None => Command::new(program),
        }
    }

    /// `postgresql://postgres:<password>@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!(
            "postgresql://postgres:{PG_PASSWORD}@127.0.0.1:{}/postgres",
            self.port
        )
    }

    /// The server's process id while it runs (its own connections' processes are its
    /// children).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The server's log so far, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// Starts the stopped server again, on the same port with the same data.
    pub fn start_again(&mut self) {
        if let Err(log) = self.try_start() {
            panic!("postgres exited while starting:\n{log}");
        }
    }

    /// Starts the server and waits until it accepts connections; the log when it exits
    /// instead.
    fn try_start(&mut self) -> Result<(), String> {
        assert!(self.child.is_none(), "already running");
        let logged = self.log().len();
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("log"))
            .unwrap();
        let mut command = self.command("postgres");
        command
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(self.dir.path())
            .args(["-c", "listen_addresses=127.0.0.1"]);
        if !self.durable {
            // A test server: durability against the machine stopping is not what is tested.
            command.args(["-c", "fsync=off", "-c", "full_page_writes=off"]);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("postgres starts");
        self.child = Some(child);
        let give_up = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                let log = self.log();
                return Err(format!("({status})\n{}", &log[logged.min(log.len())..]));
            }
            assert!(
                Instant::now() < give_up,
                "postgres did not accept connections in 30 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (a fast shutdown: connections are cut, the data stays).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let give_up = Instant::now() + Duration::from_secs(30);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > give_up {
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Where a journal lives: how to open another one on the same database (separate
/// connections, as another process would have).
#[derive(Clone, Debug)]
pub enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

/// One backend's database for a test, with its clock.
pub struct Backend {
    pub name: &'static str,
    pub clock: TestClock,
    pub target: Target,
    pub journal: Journal,
    pub postgres: Option<PgServer>,
    _dir: Option<TempDir>,
}

impl Backend {
    /// Another journal on the same database, with the same clock.
    pub async fn open(&self) -> Journal {
        self.try_open().await.unwrap()
    }

    pub async fn try_open(&self) -> Result<Journal, Error> {
        self.open_on(TimeSource::new(self.clock.reader())).await
    }

    /// Another journal on the same database, on `clock` (such as the fake store's, whose
    /// orders a catch-up reads by time).
    pub async fn open_on(&self, clock: TimeSource) -> Result<Journal, Error> {
        let builder = Journal::builder().time_source(clock);
        match &self.target {
            Target::Sqlite(path) => builder.open_sqlite(path).await,
            Target::Postgres(url) => builder.connect_postgres(url).await,
        }
    }

    /// Runs `sql` (statements without results) on the database directly, not through the
    /// journal.
    pub async fn raw_execute(&self, sql: &str) {
        match &self.target {
            Target::Sqlite(path) => {
                let (path, sql) = (path.clone(), sql.to_owned());
                tokio::task::spawn_blocking(move || {
                    rusqlite::Connection::open(path)
                        .unwrap()
                        .execute_batch(&sql)
                        .unwrap()
                })
                .await
                .unwrap()
            }
            Target::Postgres(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                let connection = tokio::spawn(connection);
                client.batch_execute(sql).await.unwrap();
                drop(client);
                let _ = connection.await;
            }
        }
    }

    /// The rows of a query run on the database directly, each value as text ("" for NULL).
    pub async fn raw_query(&self, sql: &str) -> Vec<Vec<String>> {
        match &self.target {
            Target::Sqlite(path) => {
                let (path, sql) = (path.clone(), sql.to_owned());
                tokio::task::spawn_blocking(move || {
                    let connection = rusqlite::Connection::open(path).unwrap();
                    let mut statement = connection.prepare(&sql).unwrap();
                    let columns = statement.column_count();
                    let rows = statement
                        .query_map([], |row| {
                            (0..columns)
                                .map(|n| {
                                    use rusqlite::types::ValueRef;
                                    Ok(match row.get_ref(n)? {
                                        ValueRef::Null => String::new(),
                                        ValueRef::Integer(i) => i.to_string(),
                                        ValueRef::Real(r) => r.to_string(),
                                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                                            String::from_utf8_lossy(t).into_owned()
                                        }
                                    })
                                })
                                .collect::<rusqlite::Result<Vec<_>>>()
                        })
                        .unwrap()
                        .collect::<rusqlite::Result<Vec<_>>>()
                        .unwrap();
                    rows
                })
                .await
                .unwrap()
            }
            Target::Postgres(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                let connection = tokio::spawn(connection);
                let rows = client
                    .simple_query(sql)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter_map(|message| match message {
                        tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                            (0..row.len())
                                .map(|n| row.get(n).unwrap_or("").to_owned())
                                .collect(),
                        ),
                        _ => None,
                    })
                    .collect();
                drop(client);
                let _ = connection.await;
                rows
            }
        }
    }
}

/// A journal in each backend for `test`: SQLite in a file of a temporary folder, and
/// PostgreSQL in a server of its own (when installed; see the module docs).
pub async fn backends(test: &str) -> Vec<Backend> {
    let mut backends = Vec::new();
    let dir = TempDir::new(test);
    let clock = TestClock::new();
    let path = dir.path().join("journal.sqlite3");
    let journal = Journal::builder()
        .time_source(TimeSource::new(clock.reader()))
        .open_sqlite(&path)
        .await
        .unwrap();
    backends.push(Backend {
        name: "SQLite",
        clock,
        target: Target::Sqlite(path),
        journal,
        postgres: None,
        _dir: Some(dir),
    });
    let test = test.to_owned();
    let server = tokio::task::spawn_blocking(move || PgServer::start(&test))
        .await
        .unwrap();
    if let Some(server) = server {
        let clock = TestClock::new();
        let url = server.url();
        let journal = Journal::builder()
            .time_source(TimeSource::new(clock.reader()))
            .connect_postgres(&url)
            .await
            .unwrap();
        backends.push(Backend {
            name: "PostgreSQL",
            clock,
            target: Target::Postgres(url),
            journal,
            postgres: Some(server),
            _dir: None,
        });
    }
    backends
}
