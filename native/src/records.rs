//! Kafka record batches (format v2, uncompressed) written in one buffer.
//!
//! The screening loop hands aiokafka whole batches (`send_batch`); aiokafka's own builder
//! costs about a microsecond per record through its Python layer, and the loop writes
//! nearly three records per entry. `RecordBatchWriter` has the same methods aiokafka's
//! producer calls on a batch (`append`, `close`, `closed`, `_set_producer_state`,
//! `_build`, `size`, `record_count`), so it goes through `send_batch` unchanged, and its
//! bytes equal those of aiokafka's builder for the same records (tests/unit).

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::time::{SystemTime, UNIX_EPOCH};

/// Bytes before the first record: base offset (8), length (4), leader epoch (4), magic
/// (1), CRC (4), attributes (2), last offset delta (4), first and max timestamp (8 + 8),
/// producer id (8), epoch (2), base sequence (4), record count (4).
const HEADER: usize = 61;
/// Where the CRC goes, and where the bytes it covers start.
const CRC_AT: usize = 17;
const CRC_FROM: usize = 21;
const TRANSACTIONAL: i16 = 0x10;

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
        if self.count > 0 && self.buf.len() + size > self.limit {
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
        RecordBatchWriter {
            buf: vec![0; HEADER],
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
        let borrowed: Vec<(&str, Option<&[u8]>)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect();
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
