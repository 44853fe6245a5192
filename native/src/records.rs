//! Kafka record batches (format v2, uncompressed) written in one buffer.
//!
//! The screening loop hands aiokafka whole batches (`send_batch`); aiokafka's own builder
//! costs about a microsecond per record through its Python layer, and the loop writes
//! nearly three records per entry. `RecordBatchWriter` has the same methods aiokafka's
//! producer calls on a batch (`append`, `close`, `closed`, `_set_producer_state`,
//! `_build`, `size`, `record_count`), so it goes through `send_batch` unchanged, and its
//! bytes equal those of aiokafka's builder for the same records (tests/unit).

use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Bytes before the first record: base offset (8), length (4), leader epoch (4), magic
/// (1), CRC (4), attributes (2), last offset delta (4), first and max timestamp (8 + 8),
/// producer id (8), epoch (2), base sequence (4), record count (4).
pub(crate) const HEADER: usize = 61;
/// Where the CRC goes, and where the bytes it covers start (the attributes).
pub(crate) const CRC_AT: usize = 17;
pub(crate) const CRC_FROM: usize = 21;
pub(crate) const TRANSACTIONAL: i16 = 0x10;
/// The most a writer reserves up front (a batch larger than this grows as needed).
const MAX_RESERVE: usize = 4 << 20;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn put_varint(out: &mut Vec<u8>, value: i64) {
    // Zigzag, then seven bits per byte, least significant first.
    let mut v = ((value << 1) ^ (value >> 63)) as u64;
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(value: i64) -> usize {
    let mut v = ((value << 1) ^ (value >> 63)) as u64;
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn put_field(out: &mut Vec<u8>, field: Option<&[u8]>) {
    match field {
        None => put_varint(out, -1),
        Some(bytes) => {
            put_varint(out, bytes.len() as i64);
            out.extend_from_slice(bytes);
        }
    }
}

/// Headers as Python hands them over, borrowed in the shape `push` takes.
fn borrowed_headers(headers: &[(String, Option<Vec<u8>>)]) -> Vec<(&str, Option<&[u8]>)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_deref()))
        .collect()
}

fn field_len(field: Option<&[u8]>) -> usize {
    match field {
        None => 1,
        Some(bytes) => varint_len(bytes.len() as i64) + bytes.len(),
    }
}

#[pyclass(module = "screening_native")]
pub struct RecordBatchWriter {
    /// The header's room (filled in at build), then the records.
    buf: Vec<u8>,
    count: i64,
    first_timestamp: i64,
    max_timestamp: i64,
    limit: usize,
    transactional: bool,
    closed: bool,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    built: Option<Py<PyBytes>>,
}

impl RecordBatchWriter {
    /// Append one record; false when it does not fit (a first record always fits, as in
    /// aiokafka, so an oversized record is the broker's to refuse).
    pub fn push(
        &mut self,
        timestamp: Option<i64>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> bool {
        if self.closed {
            return false;
        }
        let timestamp = timestamp.unwrap_or_else(now_ms);
        if self.count == 0 {
            self.first_timestamp = timestamp;
            self.max_timestamp = timestamp;
        }
        let timestamp_delta = timestamp - self.first_timestamp;
        let offset_delta = self.count;
        let mut body = 1 // attributes
            + varint_len(timestamp_delta)
            + varint_len(offset_delta)
            + field_len(key)
            + field_len(value)
            + varint_len(headers.len() as i64);
        for (name, header_value) in headers {
            body += field_len(Some(name.as_bytes())) + field_len(*header_value);
        }
        let size = varint_len(body as i64) + body;
        // aiokafka's compiled builder refuses a record that would make the batch exactly
        // its size as well (found by the property tests).
        if self.count > 0 && self.buf.len() + size >= self.limit {
            return false;
        }
        let out = &mut self.buf;
        out.reserve(size);
        put_varint(out, body as i64);
        out.push(0);
        put_varint(out, timestamp_delta);
        put_varint(out, offset_delta);
        put_field(out, key);
        put_field(out, value);
        put_varint(out, headers.len() as i64);
        for (name, header_value) in headers {
            put_field(out, Some(name.as_bytes()));
            put_field(out, *header_value);
        }
        self.max_timestamp = self.max_timestamp.max(timestamp);
        self.count += 1;
        true
    }

    /// Fill in the header in front of the records (written once, at build).
    fn seal(&mut self) {
        let length = (self.buf.len() - 12) as i32;
        let attributes = if self.transactional { TRANSACTIONAL } else { 0 };
        let mut header = Vec::with_capacity(HEADER);
        header.extend_from_slice(&0i64.to_be_bytes()); // base offset: the broker assigns
        header.extend_from_slice(&length.to_be_bytes());
        header.extend_from_slice(&(-1i32).to_be_bytes()); // partition leader epoch: unknown
        header.push(2); // magic
        header.extend_from_slice(&[0; 4]); // CRC, below
        header.extend_from_slice(&attributes.to_be_bytes());
        header.extend_from_slice(&((self.count - 1).max(0) as i32).to_be_bytes());
        header.extend_from_slice(&self.first_timestamp.to_be_bytes());
        header.extend_from_slice(&self.max_timestamp.to_be_bytes());
        header.extend_from_slice(&self.producer_id.to_be_bytes());
        header.extend_from_slice(&self.producer_epoch.to_be_bytes());
        header.extend_from_slice(&self.base_sequence.to_be_bytes());
        header.extend_from_slice(&(self.count as i32).to_be_bytes());
        self.buf[..HEADER].copy_from_slice(&header);
        let crc = crc32c::crc32c(&self.buf[CRC_FROM..]);
        self.buf[CRC_AT..CRC_FROM].copy_from_slice(&crc.to_be_bytes());
    }
}

#[pymethods]
impl RecordBatchWriter {
    #[new]
    #[pyo3(signature = (batch_size, *, transactional = false))]
    fn new(batch_size: usize, transactional: bool) -> Self {
        // Room for the whole batch at once: grown by doubling, the buffer was copied over
        // and over (a tenth of the screening loop's time in the profile).
        let mut buf = Vec::with_capacity(batch_size.clamp(HEADER, MAX_RESERVE));
        buf.resize(HEADER, 0);
        RecordBatchWriter {
            buf,
            count: 0,
            first_timestamp: 0,
            max_timestamp: 0,
            limit: batch_size,
            transactional,
            closed: false,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: 0,
            built: None,
        }
    }

    /// aiokafka's `BatchBuilder.append`: None when the batch is full or closed (aiokafka
    /// returns None too), True otherwise. `timestamp` is in milliseconds; None is now.
    #[pyo3(signature = (*, timestamp, key, value, headers = None))]
    fn append(
        &mut self,
        timestamp: Option<i64>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: Option<Vec<(String, Option<Vec<u8>>)>>,
    ) -> Option<bool> {
        let headers = headers.unwrap_or_default();
        let borrowed = borrowed_headers(&headers);
        if self.push(timestamp, key, value, &borrowed) {
            Some(true)
        } else {
            self.closed = true;
            None
        }
    }

    fn close(&mut self) {
        self.closed = true;
    }

    fn closed(&self) -> bool {
        self.closed
    }

    fn _set_producer_state(&mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self.built = None;
    }

    /// The batch's bytes, written once (a retry sends the same bytes again).
    fn _build(&mut self, py: Python<'_>) -> Py<PyBytes> {
        self.closed = true;
        if let Some(built) = &self.built {
            return built.clone_ref(py);
        }
        self.seal();
        let built: Py<PyBytes> = PyBytes::new(py, &self.buf).unbind();
        self.built = Some(built.clone_ref(py));
        built
    }

    fn size(&self) -> usize {
        self.buf.len()
    }

    fn record_count(&self) -> i64 {
        self.count
    }
}

/// One consumer batch's outputs: a `RecordBatchWriter` per topic partition, a new one
/// when a partition's is full, all kept in the order they were started (so a partition's
/// records keep their order when the batches are sent one after another).
///
/// The screening loop adds nearly three records per entry; through Python each `add`
/// cost a frame, a slot tuple, a dictionary lookup and a keyword call into the writer.
#[pyclass(module = "screening_native")]
pub struct OutputBatches {
    batch_size: usize,
    /// topic -> for each of its partitions, the index in `started` of its open writer.
    open: HashMap<String, Vec<Option<usize>>>,
    started: Vec<(String, i32, Py<RecordBatchWriter>)>,
    records: usize,
}

impl OutputBatches {
    /// `add` without Python arguments: the screening core writes decisions straight in.
    pub fn push(
        &mut self,
        py: Python<'_>,
        topic: &str,
        partition: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> PyResult<()> {
        let slots = self
            .open
            .get_mut(topic)
            .ok_or_else(|| PyKeyError::new_err(topic.to_owned()))?;
        let partition = partition.rem_euclid(slots.len() as i64) as usize;
        let timestamp = Some(now_ms());
        if let Some(index) = slots[partition] {
            let mut writer = self.started[index].2.borrow_mut(py);
            if writer.push(timestamp, key, value, headers) {
                self.records += 1;
                return Ok(());
            }
            writer.closed = true; // full: a new writer follows it for this partition
        }
        let mut writer = RecordBatchWriter::new(self.batch_size, false);
        if !writer.push(timestamp, key, value, headers) {
            // Only a closed writer refuses a first record; this one is new.
            unreachable!("a new record batch refused its first record");
        }
        slots[partition] = Some(self.started.len());
        self.started
            .push((topic.to_owned(), partition as i32, Py::new(py, writer)?));
        self.records += 1;
        Ok(())
    }
}

#[pymethods]
impl OutputBatches {
    /// `partitions`: topic -> partition count (a record's partition is taken modulo it).
    #[new]
    fn new(partitions: HashMap<String, usize>, batch_size: usize) -> PyResult<Self> {
        let mut open = HashMap::with_capacity(partitions.len());
        for (topic, count) in partitions {
            if count == 0 {
                return Err(PyValueError::new_err(format!(
                    "topic {topic} has no partitions"
                )));
            }
            open.insert(topic, vec![None; count]);
        }
        Ok(OutputBatches {
            batch_size,
            open,
            started: Vec::new(),
            records: 0,
        })
    }

    /// Add a record (timestamp: now) for `partition` of `topic`.
    #[pyo3(signature = (topic, partition, key, value, headers = None))]
    fn add(
        &mut self,
        py: Python<'_>,
        topic: &str,
        partition: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: Option<Vec<(String, Option<Vec<u8>>)>>,
    ) -> PyResult<()> {
        let headers = headers.unwrap_or_default();
        let borrowed = borrowed_headers(&headers);
        self.push(py, topic, partition, key, value, &borrowed)
    }

    /// The writers in the order they were started, as (topic, partition, writer); the
    /// batch is empty afterwards.
    fn take(&mut self) -> Vec<(String, i32, Py<RecordBatchWriter>)> {
        for slots in self.open.values_mut() {
            slots.fill(None);
        }
        std::mem::take(&mut self.started)
    }

    #[getter]
    fn records(&self) -> usize {
        self.records
    }
}
