//! A plan saved in a file as a log: the plan written once, then each checkpoint's change
//! appended as one framed, checksummed record, so that a checkpoint costs what changed.
//!
//! The file's layout (format [`PLAN_LOG_FORMAT_VERSION`]):
//!
//! ```text
//! ecwid-inventory plan log 1 bulk\n       the format's name, version, and the plan's kind
//! 00000000000000005123 cbf43926\n         a frame: length and CRC-32 of the payload, in hex
//! {...the plan...}\n                      (the plan's length zero-padded: it is streamed in)
//! 87 1c291ca3\n{"change":"chunk",...}\n   one frame per change, appended and fsynced
//! ```
//!
//! A crash in the middle of an append leaves a torn last frame (short, with a bad checksum or
//! without its newline): reading ignores it, as the checkpoint it carried never returned, and
//! the next append cuts it away. A bad frame with a good one after it was not torn by a crash:
//! reading refuses the file.

use std::fs::{File, OpenOptions};
use std::io::{self, ErrorKind, Read as _, Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Serialize};

use super::checkpoint::{Checkpoint, PlanChange};
use super::BulkPlan;

/// The version of [`PlanLog`]'s file layout that this crate writes and reads. A plan file
/// saved whole as JSON (as before the log) is read too.
pub const PLAN_LOG_FORMAT_VERSION: u32 = 1;

const MAGIC: &str = "ecwid-inventory plan log";
/// Longest a frame's header line can be: a 20-digit length, a space, 8 hex digits, a newline.
const MAX_FRAME_HEADER: usize = 32;

/// Only this crate's plans are logged (the sync's is in `sync::plan`).
pub(crate) mod sealed {
    pub trait Sealed {}
}

/// A plan that a [`PlanLog`] saves: [`BulkPlan`] or [`SyncPlan`](crate::sync::SyncPlan).
pub trait LoggedPlan: sealed::Sealed + Serialize + DeserializeOwned {
    /// Its name in the log's first line.
    #[doc(hidden)]
    const KIND: &'static str;
    /// Folds one change in, as [`BulkPlan::apply_change`].
    #[doc(hidden)]
    fn fold(&mut self, change: &PlanChange) -> Result<(), String>;
}

impl sealed::Sealed for BulkPlan {}

impl LoggedPlan for BulkPlan {
    const KIND: &'static str = "bulk";

    fn fold(&mut self, change: &PlanChange) -> Result<(), String> {
        self.apply_change(change)
    }
}

/// A plan saved in a file, a checkpoint at a time: [`create`](Self::create) writes the plan
/// once, [`append`](Self::append) adds one change as a checksummed record and fsyncs it, and
/// [`open`](Self::open) reads the plan back with every change folded in. So a checkpoint costs
/// what changed, not the plan's size: [`save`](Self::save) takes a run's
/// [`Checkpoint`] as it comes, writing the plan whole only when a run starts.
///
/// ```no_run
/// # async fn run(client: ecwid_inventory::Client, items: Vec<ecwid_inventory::bulk::BulkItem>)
/// # -> Result<(), Box<dyn std::error::Error>> {
/// use ecwid_inventory::bulk::PlanLog;
///
/// let plan = client.plan_bulk(items, 500)?;
/// let mut log = PlanLog::create("bulk-plan.log", &plan)?;
/// let report = client
///     .resume_bulk(plan)
///     .on_checkpoint(|checkpoint| log.save(checkpoint).expect("the plan is saved"))
///     .send()
///     .await?;
///
/// // After a crash: the plan as its last saved checkpoint left it.
/// let (plan, _log) = PlanLog::<ecwid_inventory::bulk::BulkPlan>::open("bulk-plan.log")?;
/// let report = client.resume_bulk(plan).send().await?;
/// # Ok(()) }
/// ```
///
/// A crash while a record is written leaves it torn (short, or with a bad checksum): `open`
/// ignores it (its checkpoint had not returned, so the run had sent nothing after it), and the
/// next append cuts it away. A bad record with a good one after it was not torn by a crash, and
/// `open` refuses the file with [`ErrorKind::InvalidData`]. A plan file saved whole as JSON
/// (before the log) is read as it is; [`save`](Self::save) then rewrites it as a log.
///
/// Errors are [`io::Error`]s; a file that is not a plan log of this kind, of another format
/// version, or with a change its plan cannot have made is [`ErrorKind::InvalidData`], naming the
/// problem.
#[derive(Debug)]
pub struct PlanLog<P = BulkPlan> {
    path: PathBuf,
    file: File,
    /// Where the next record goes: past the last good one.
    end: u64,
    /// Bytes past `end` (a torn record) that the next append cuts away.
    torn: bool,
    /// Read from a file saved whole as JSON: appending to it needs the plan written first.
    whole_json: bool,
    plan: PhantomData<fn(P) -> P>,
}

fn invalid(why: String) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, why)
}

/// One frame: its header line, the payload, a newline.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = format!("{} {:08x}\n", payload.len(), crc32(payload)).into_bytes();
    frame.reserve(payload.len() + 1);
    frame.extend_from_slice(payload);
    frame.push(b'\n');
    frame
}

/// A frame's header line of a fixed width (the length zero-padded, which reads as any other):
/// written as a placeholder before a payload of unknown length, then over it.
fn fixed_header(len: u64, crc: u32) -> String {
    format!("{len:020} {crc:08x}\n")
}

/// Writes the log's first line and the plan's frame to `file`, the plan serialized straight
/// into the file (checksummed and counted on the way) rather than into memory first: a plan of
/// a million rows is some 200 MB of JSON. Returns where the frame ends.
fn write_plan<P: LoggedPlan>(file: &mut File, plan: &P) -> io::Result<u64> {
    let first = format!("{MAGIC} {PLAN_LOG_FORMAT_VERSION} {}\n", P::KIND);
    let header_at = first.len() as u64;
    let placeholder = fixed_header(0, 0);
    file.write_all(first.as_bytes())?;
    file.write_all(placeholder.as_bytes())?;
    let mut payload = Checksummed {
        inner: io::BufWriter::with_capacity(1 << 16, &mut *file),
        len: 0,
        crc: Crc32::new(),
    };
    serde_json::to_writer(&mut payload, plan).map_err(io::Error::other)?;
    payload.inner.write_all(b"\n")?;
    payload.inner.flush()?;
    let (len, crc) = (payload.len, payload.crc.finish());
    drop(payload);
    file.seek(SeekFrom::Start(header_at))?;
    file.write_all(fixed_header(len, crc).as_bytes())?;
    Ok(header_at + placeholder.len() as u64 + len + 1)
}

/// A writer that counts and checksums what goes through it.
struct Checksummed<W> {
    inner: W,
    len: u64,
    crc: Crc32,
}

impl<W: Write> Write for Checksummed<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.crc.update(&bytes[..written]);
        self.len += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A frame read at some position, or why not.
enum Read<'a> {
    Good {
        payload: &'a [u8],
        next: usize,
    },
    /// Bad, and reaching the end of the file: a write a crash cut short.
    Torn(String),
    /// Bad, with more after it.
    Bad(String),
}

/// A frame's header line at the start of `rest`: the payload's length and CRC, and where the
/// payload starts; or why not.
fn frame_header(rest: &[u8]) -> Result<(usize, u32, usize), Read<'static>> {
    let Some(newline) = rest.iter().position(|&b| b == b'\n') else {
        return Err(Read::Torn("a record without its header line's end".into()));
    };
    let header = std::str::from_utf8(&rest[..newline]).ok().and_then(|line| {
        let (len, crc) = line.split_once(' ')?;
        let crc = (crc.len() == 8).then(|| u32::from_str_radix(crc, 16).ok())??;
        Some((len.parse::<usize>().ok()?, crc))
    });
    match header.filter(|_| newline < MAX_FRAME_HEADER) {
        Some((len, crc)) => Ok((len, crc, newline + 1)),
        None => Err(Read::Bad(
            "a record header that is not `LENGTH CRC32`".into(),
        )),
    }
}

fn read_frame(bytes: &[u8], at: usize) -> Read<'_> {
    let rest = &bytes[at..];
    let (len, crc, start) = match frame_header(rest) {
        Ok(header) => header,
        Err(why) => return why,
    };
    let Some(end) = start.checked_add(len).filter(|&end| end < rest.len()) else {
        return Read::Torn(format!(
            "a record of {len} bytes with {} left in the file",
            rest.len() - start
        ));
    };
    let payload = &rest[start..end];
    let reaches_end = end + 1 == rest.len();
    let why = if rest[end] != b'\n' {
        "a record without its terminating newline".to_owned()
    } else if crc32(payload) != crc {
        format!(
            "a record whose checksum is {:08x}, not {crc:08x}",
            crc32(payload)
        )
    } else {
        return Read::Good {
            payload,
            next: at + end + 1,
        };
    };
    if reaches_end {
        Read::Torn(why)
    } else {
        Read::Bad(why)
    }
}

impl<P: LoggedPlan> PlanLog<P> {
    /// Writes `plan` to `path` as a new log, whole or not at all (to a file beside it, fsynced,
    /// then renamed over `path`), and returns the log to append its changes to.
    pub fn create(path: impl AsRef<Path>, plan: &P) -> io::Result<Self> {
        let path = path.as_ref().to_owned();
        let partial = partial_path(&path);
        let end = {
            let mut file = File::create(&partial)?;
            let end = write_plan(&mut file, plan)?;
            file.sync_all()?;
            end
        };
        std::fs::rename(&partial, &path)?;
        sync_dir(&path);
        let file = OpenOptions::new().write(true).open(&path)?;
        Ok(Self {
            path,
            file,
            end,
            torn: false,
            whole_json: false,
            plan: PhantomData,
        })
    }

    /// Reads the plan at `path` with every change folded in, and the log to append to. A torn
    /// last record is ignored; a bad one before the last is an error. A plan saved whole as
    /// JSON is read too. A missing file is [`ErrorKind::NotFound`].
    pub fn open(path: impl AsRef<Path>) -> io::Result<(P, Self)> {
        let path = path.as_ref().to_owned();
        let (plan, end, torn, whole_json) = Self::read(&mut File::open(&path)?)?;
        let file = OpenOptions::new().write(true).open(&path)?;
        let log = Self {
            path,
            file,
            end,
            torn,
            whole_json,
            plan: PhantomData,
        };
        Ok((plan, log))
    }

    /// The plan, where its good records end, whether bytes after them are a torn record, and
    /// whether it was saved whole as JSON. The plan's record is checked, then deserialized,
    /// straight from the file (it may be hundreds of megabytes); the change records after it
    /// are read whole.
    fn read(file: &mut File) -> io::Result<(P, u64, bool, bool)> {
        let kind = P::KIND;
        let mut head = Vec::new();
        (&mut *file)
            .take(100 + MAX_FRAME_HEADER as u64)
            .read_to_end(&mut head)?;
        if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            // Saved whole, as before the log: the plan's own format version says the rest.
            file.seek(SeekFrom::Start(0))?;
            let plan = serde_json::from_reader(io::BufReader::new(&mut *file))
                .map_err(|error| invalid(format!("not a {kind} plan: {error}")))?;
            return Ok((plan, file.metadata()?.len(), false, true));
        }
        let first = head
            .iter()
            .position(|&b| b == b'\n')
            .filter(|&n| n < 100)
            .and_then(|n| Some((std::str::from_utf8(&head[..n]).ok()?, n + 1)));
        let Some((line, at)) = first.filter(|(line, _)| line.starts_with(MAGIC)) else {
            return Err(invalid(format!(
                "not a {kind} plan: neither a plan log nor a plan saved as JSON"
            )));
        };
        let mut words = line[MAGIC.len()..].split_whitespace();
        let version = words.next().and_then(|v| v.parse::<u32>().ok());
        if version != Some(PLAN_LOG_FORMAT_VERSION) {
            return Err(invalid(format!(
                "a plan log of format version {}; this version of ecwid-inventory reads plan \
                 logs of version {PLAN_LOG_FORMAT_VERSION} (and plans saved as JSON)",
                version.map_or_else(|| "unknown".to_owned(), |v| v.to_string())
            )));
        }
        match words.next() {
            Some(found) if found == kind => {}
            found => {
                return Err(invalid(format!(
                    "a plan log of a {} plan, not of a {kind} plan",
                    found.unwrap_or("unnamed")
                )))
            }
        }
        let bad_plan = || invalid(format!("not a {kind} plan: its plan record is bad"));
        let (len, crc, start) = frame_header(&head[at..]).map_err(|_| bad_plan())?;
        let (start, len) = ((at + start) as u64, len as u64);
        // The record whole and its checksum right, before any of it is believed.
        file.seek(SeekFrom::Start(start))?;
        let mut record = Checksummed {
            inner: io::sink(),
            len: 0,
            crc: Crc32::new(),
        };
        io::copy(&mut (&mut *file).take(len), &mut record)?;
        let mut newline = [0u8];
        let ends = file.read(&mut newline)? == 1 && newline[0] == b'\n';
        if record.len != len || record.crc.finish() != crc || !ends {
            return Err(bad_plan());
        }
        file.seek(SeekFrom::Start(start))?;
        let mut plan: P = serde_json::from_reader(io::BufReader::new((&mut *file).take(len)))
            .map_err(|error| invalid(format!("not a {kind} plan: {error}")))?;
        let base = start + len + 1;
        file.seek(SeekFrom::Start(base))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let mut at = 0;
        let mut record = 0;
        while at < bytes.len() {
            record += 1;
            let byte = base + at as u64;
            match read_frame(&bytes, at) {
                Read::Good { payload, next } => {
                    let change: PlanChange = serde_json::from_slice(payload).map_err(|error| {
                        invalid(format!(
                            "record {record} (at byte {byte}) is no change: {error}"
                        ))
                    })?;
                    plan.fold(&change).map_err(|why| {
                        invalid(format!(
                            "record {record} (at byte {byte}) does not fit: {why}"
                        ))
                    })?;
                    at = next;
                }
                Read::Torn(why) => {
                    tracing::warn!(record, at = byte, %why, "plan log: a torn last record ignored");
                    return Ok((plan, byte, true, false));
                }
                Read::Bad(why) => {
                    return Err(invalid(format!(
                        "record {record} (at byte {byte}) is corrupt, with records after it: {why}"
                    )))
                }
            }
        }
        Ok((plan, base + at as u64, false, false))
    }

    /// Appends one change as a record and fsyncs it; a torn record left by a crash is cut
    /// away first. A log read from a plan saved whole as JSON takes a change only once
    /// [`save`](Self::save) has written it as a log.
    pub fn append(&mut self, change: &PlanChange) -> io::Result<()> {
        if self.whole_json {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{} holds a plan saved whole as JSON: save the plan as a log first",
                    self.path.display()
                ),
            ));
        }
        let payload = serde_json::to_vec(change).map_err(io::Error::other)?;
        let bytes = frame(&payload);
        if self.torn {
            self.file.set_len(self.end)?;
            self.torn = false;
        }
        self.file.seek(SeekFrom::Start(self.end))?;
        if let Err(error) = self
            .file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data())
        {
            // Part of it may be on disk: cut away before the next append.
            self.torn = true;
            return Err(error);
        }
        self.end += bytes.len() as u64;
        Ok(())
    }

    /// Saves one checkpoint: when a run starts ([`PlanChange::Started`]) the whole plan, as
    /// [`create`](Self::create) does (once a run, which also folds the records so far away);
    /// after that, the change alone, as [`append`](Self::append) does.
    pub fn save(&mut self, checkpoint: &Checkpoint<'_, P>) -> io::Result<()> {
        match checkpoint.change() {
            PlanChange::Started => {
                *self = Self::create(&self.path, checkpoint.plan())?;
                Ok(())
            }
            change => self.append(change),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The file beside `path` a whole plan is written to first.
fn partial_path(path: &Path) -> PathBuf {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    PathBuf::from(partial)
}

/// Makes a rename into the directory durable, where the system allows it.
fn sync_dir(path: &Path) {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

/// CRC-32 (IEEE 802.3, as zlib and PNG), to tell a torn or damaged record from a good one.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = Crc32::new();
    crc.update(bytes);
    crc.finish()
}

/// CRC-32 (IEEE), fed a piece at a time.
struct Crc32(u32);

impl Crc32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[n] = c;
            n += 1;
        }
        table
    };

    fn new() -> Self {
        Crc32(!0)
    }

    fn update(&mut self, bytes: &[u8]) {
        self.0 = bytes.iter().fold(self.0, |c, &b| {
            Self::TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
        });
    }

    fn finish(&self) -> u32 {
        !self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_the_ieee_one() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn a_frame_reads_back_and_every_cut_of_it_is_torn() {
        let mut bytes = frame(b"{\"a\":1}");
        let whole = bytes.len();
        bytes.extend_from_slice(&frame(b"{\"b\":2}"));
        let Read::Good { payload, next } = read_frame(&bytes, 0) else {
            panic!("a good frame")
        };
        assert_eq!((payload, next), (&b"{\"a\":1}"[..], whole));
        for cut in whole..bytes.len() {
            assert!(
                matches!(read_frame(&bytes[..cut], whole), Read::Torn(_)),
                "cut at {cut}"
            );
        }
        // A damaged byte with a frame after it is no crash.
        let mut damaged = bytes.clone();
        damaged[whole - 3] ^= 1;
        assert!(matches!(read_frame(&damaged, 0), Read::Bad(_)));
        // Zeros where a write did not land, to the end of the file: torn.
        let mut zeros = bytes[..whole].to_vec();
        zeros.extend_from_slice(&[0; 40]);
        assert!(matches!(read_frame(&zeros, whole), Read::Torn(_)));
    }

    /// The plan's record is streamed into the file under a fixed-width header filled in after
    /// it; it holds exactly the plan's JSON, and the same plan framed with a header of the
    /// plain width (as the first logs were written) reads back the same.
    #[test]
    fn the_plan_is_streamed_into_its_record_and_both_header_widths_read() {
        use crate::{Client, StockItem, StoreId};
        let client = Client::builder(StoreId::new(1003), "secret_t")
            .build()
            .unwrap();
        let items = (1..=1500).map(|n| {
            let product = crate::ProductId::new(n);
            crate::bulk::BulkItem::new(StockItem::Product { product }, 1)
        });
        let plan = client.plan_bulk(items.collect::<Vec<_>>(), 500).unwrap();
        let json = serde_json::to_vec(&plan).unwrap();
        // Larger than the writer's buffer, so it goes out in several writes.
        assert!(json.len() > 1 << 16, "{}", json.len());

        let dir = std::env::temp_dir().join(format!("ecwid-log-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("plan.log");
        let log = PlanLog::create(&path, &plan).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let first = format!("{MAGIC} {PLAN_LOG_FORMAT_VERSION} bulk\n");
        let header = fixed_header(json.len() as u64, crc32(&json));
        let mut expected = format!("{first}{header}").into_bytes();
        expected.extend_from_slice(&json);
        expected.push(b'\n');
        assert_eq!(bytes, expected);
        assert_eq!(log.end, bytes.len() as u64);
        assert_eq!(PlanLog::<BulkPlan>::open(&path).unwrap().0, plan);

        let mut plain = first.into_bytes();
        plain.extend_from_slice(&frame(&json));
        assert!(plain.len() < bytes.len());
        std::fs::write(&path, &plain).unwrap();
        let (read, log) = PlanLog::<BulkPlan>::open(&path).unwrap();
        assert_eq!(read, plan);
        assert_eq!(log.end, plain.len() as u64);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
