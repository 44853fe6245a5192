//! A fetch response's records read in one pass, in place of aiokafka's per-record Python.
//!
//! aiokafka turns each fetched record into a `ConsumerRecord` through a Python generator
//! and a dataclass (about 1.3 µs a record on this project's machine, and its CRC check of
//! the batch about half a microsecond more for a 700-byte entry): a tenth of the
//! screening loop's thread. `FetchedRecords` reads the same bytes for the common case,
//! record batches of format v2 that are neither compressed, transactional nor control
//! batches, and returns `FetchedRecord` objects with a `ConsumerRecord`'s attributes and
//! values.
//!
//! `FetchedRecords::read` checks every batch of the buffer first (its CRC when asked, the
//! structure of every record, the header keys' UTF-8) and returns None for anything else,
//! so that the caller keeps aiokafka's reader, which then reads the odd batch or raises
//! its own error for a corrupt one. After that check, reading a record cannot fail.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

// The v2 batch layout the writer writes (header size, CRC place, attribute bits).
use crate::records::{CRC_AT, CRC_FROM, HEADER, TRANSACTIONAL};

/// Base offset (8) and batch length (4): what precedes the bytes the length counts.
const LOG_OVERHEAD: usize = 12;
const MAGIC_AT: usize = 16;
/// The CRC covers the batch from its attributes to its end.
const ATTRIBUTES_AT: usize = CRC_FROM;
const COMPRESSION: i16 = 0x07;
const LOG_APPEND_TIME: i16 = 0x08;
const CONTROL: i16 = 0x20;

fn be<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    bytes[at..at + N]
        .try_into()
        .expect("the header's length is checked")
}

/// A zigzag varint (Kafka's record fields), or None past `bytes`' end or beyond 64 bits.
fn varint(bytes: &[u8], pos: &mut usize) -> Option<i64> {
    let mut raw: u64 = 0;
    let mut shift = 0;
    loop {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        raw |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some((raw >> 1) as i64 ^ -((raw & 1) as i64));
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// A length-prefixed field: Some(None) for a null one (length -1), None when malformed.
fn field<'a>(bytes: &'a [u8], pos: &mut usize) -> Option<Option<&'a [u8]>> {
    match varint(bytes, pos)? {
        -1 => Some(None),
        len if len < 0 => None,
        len => {
            let end = pos.checked_add(usize::try_from(len).ok()?)?;
            let value = bytes.get(*pos..end)?;
            *pos = end;
            Some(Some(value))
        }
    }
}

/// One record's fields, borrowed from the batch.
struct Raw<'a> {
    timestamp_delta: i64,
    offset_delta: i64,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    headers: Vec<(&'a str, Option<&'a [u8]>)>,
}

/// The record at `pos` and where the next one starts, or None if it is malformed in any
/// way aiokafka would refuse or read differently.
fn record(batch: &[u8], mut pos: usize) -> Option<(Raw<'_>, usize)> {
    let length = usize::try_from(varint(batch, &mut pos)?).ok()?;
    let end = pos.checked_add(length)?;
    let bytes = batch.get(..end)?;
    varint(bytes, &mut pos)?; // attributes: none are defined for a record
    let timestamp_delta = varint(bytes, &mut pos)?;
    let offset_delta = varint(bytes, &mut pos)?;
    let key = field(bytes, &mut pos)?;
    let value = field(bytes, &mut pos)?;
    let count = usize::try_from(varint(bytes, &mut pos)?).ok()?;
    let mut headers = Vec::new();
    for _ in 0..count {
        let name = field(bytes, &mut pos)??; // a header's key is a string, never null
        let name = std::str::from_utf8(name).ok()?;
        headers.push((name, field(bytes, &mut pos)?));
    }
    (pos == end).then_some((
        Raw {
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers,
        },
        end,
    ))
}

/// Where a batch's records are in the buffer, and what they take from its header.
struct Batch {
    records_at: usize,
    count: usize,
    base_offset: i64,
    next_offset: i64,
    first_timestamp: i64,
    max_timestamp: i64,
    log_append_time: bool,
}

/// Every complete batch of `buffer` (a trailing partial one is left, as aiokafka leaves
/// it), or None if one is not a plain v2 batch that reads without error.
fn batches(buffer: &[u8], check_crcs: bool) -> Option<Vec<Batch>> {
    let mut batches = Vec::new();
    let mut pos = 0;
    while buffer.len() - pos >= LOG_OVERHEAD {
        let length = usize::try_from(i32::from_be_bytes(be(buffer, pos + 8))).ok()?;
        let end = pos + LOG_OVERHEAD + length;
        if end > buffer.len() {
            break;
        }
        let batch = &buffer[pos..end];
        if batch.len() < HEADER || batch[MAGIC_AT] != 2 {
            return None;
        }
        let attributes = i16::from_be_bytes(be(batch, ATTRIBUTES_AT));
        if attributes & (COMPRESSION | TRANSACTIONAL | CONTROL) != 0 {
            return None;
        }
        if check_crcs
            && crc32c::crc32c(&batch[ATTRIBUTES_AT..]) != u32::from_be_bytes(be(batch, CRC_AT))
        {
            return None;
        }
        let count = usize::try_from(i32::from_be_bytes(be(batch, 57))).ok()?;
        let mut at = HEADER;
        for _ in 0..count {
            at = record(batch, at)?.1;
        }
        if at != batch.len() {
            return None;
        }
        let base_offset = i64::from_be_bytes(be(batch, 0));
        batches.push(Batch {
            records_at: pos + HEADER,
            count,
            base_offset,
            next_offset: base_offset + i64::from(i32::from_be_bytes(be(batch, 23))) + 1,
            first_timestamp: i64::from_be_bytes(be(batch, 27)),
            max_timestamp: i64::from_be_bytes(be(batch, 35)),
            log_append_time: attributes & LOG_APPEND_TIME != 0,
        });
        pos = end;
    }
    Some(batches)
}

/// One fetched record, with the attributes (and values) of aiokafka's `ConsumerRecord`.
#[pyclass(module = "screening_native", frozen, get_all)]
pub struct FetchedRecord {
    topic: Py<PyString>,
    partition: i32,
    offset: i64,
    timestamp: i64,
    timestamp_type: i32,
    key: Option<Py<PyBytes>>,
    value: Option<Py<PyBytes>>,
    serialized_key_size: i64,
    serialized_value_size: i64,
    headers: Py<PyTuple>,
}

#[pymethods]
impl FetchedRecord {
    /// Batches of format v2 carry no per-record checksum (aiokafka gives None too).
    #[getter]
    fn checksum(&self) -> Option<u32> {
        None
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "FetchedRecord(topic={}, partition={}, offset={}, timestamp={}, key={})",
            self.topic.bind(py),
            self.partition,
            self.offset,
            self.timestamp,
            self.key
                .as_ref()
                .map_or("None".to_owned(), |key| key.bind(py).to_string()),
        )
    }
}

/// The records of one partition's fetched bytes, read as aiokafka's `PartitionRecords`
/// reads them: from `next_fetch_offset` on (a fetch can start mid-batch), which follows
/// the records handed out and, once a batch is done, moves to the batch's next offset.
#[pyclass(module = "screening_native")]
pub struct FetchedRecords {
    buffer: Py<PyBytes>,
    topic: Py<PyString>,
    partition: i32,
    batches: Vec<Batch>,
    /// The batch being read (`batches.len()` when done), where its next record starts,
    /// and how many of its records are left.
    batch: usize,
    pos: usize,
    left: usize,
    #[pyo3(get, set)]
    next_fetch_offset: i64,
    no_headers: Py<PyTuple>,
}

#[pymethods]
impl FetchedRecords {
    /// The reader of `buffer`, or None if any of its batches is not a plain v2 batch that
    /// reads without error (aiokafka's reader is then the one to use).
    #[staticmethod]
    fn read(
        buffer: Bound<'_, PyBytes>,
        topic: Bound<'_, PyString>,
        partition: i32,
        fetch_offset: i64,
        check_crcs: bool,
    ) -> Option<Self> {
        let batches = batches(buffer.as_bytes(), check_crcs)?;
        let py = buffer.py();
        let (pos, left) = batches.first().map_or((0, 0), |b| (b.records_at, b.count));
        Some(Self {
            buffer: buffer.unbind(),
            topic: topic.unbind(),
            partition,
            batches,
            batch: 0,
            pos,
            left,
            next_fetch_offset: fetch_offset,
            no_headers: PyTuple::empty(py).unbind(),
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> Option<FetchedRecord> {
        let buffer = self.buffer.bind(py).as_bytes();
        loop {
            let batch = self.batches.get(self.batch)?;
            if self.left == 0 {
                // The batch is done: the next fetch starts after it even where its last
                // records were compacted away.
                self.next_fetch_offset = batch.next_offset;
                self.batch += 1;
                if let Some(next) = self.batches.get(self.batch) {
                    (self.pos, self.left) = (next.records_at, next.count);
                }
                continue;
            }
            let (raw, next) = record(buffer, self.pos).expect("checked by read");
            self.pos = next;
            self.left -= 1;
            let offset = batch.base_offset + raw.offset_delta;
            if offset < self.next_fetch_offset {
                continue; // before the fetch's start: the broker sent the whole batch
            }
            self.next_fetch_offset = offset + 1;
            let headers = if raw.headers.is_empty() {
                self.no_headers.clone_ref(py)
            } else {
                let pairs = raw
                    .headers
                    .iter()
                    .map(|(name, value)| (*name, value.map(|v| PyBytes::new(py, v))));
                PyTuple::new(py, pairs).expect("pairs convert").unbind()
            };
            let size = |field: Option<&[u8]>| field.map_or(-1, |bytes| bytes.len() as i64);
            return Some(FetchedRecord {
                topic: self.topic.clone_ref(py),
                partition: self.partition,
                offset,
                timestamp: if batch.log_append_time {
                    batch.max_timestamp
                } else {
                    batch.first_timestamp + raw.timestamp_delta
                },
                timestamp_type: i32::from(batch.log_append_time),
                serialized_key_size: size(raw.key),
                serialized_value_size: size(raw.value),
                key: raw.key.map(|key| PyBytes::new(py, key).unbind()),
                value: raw.value.map(|value| PyBytes::new(py, value).unbind()),
                headers,
            });
        }
    }
}
