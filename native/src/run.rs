//! The screening loop's common case, a run of messages at a time.
//!
//! Per entry, the worker's loop (`streams/pipeline.py`) screens the message, counts the
//! decision for the metrics, notes the IOR's activity and newest filing time, and, for
//! three entries in four in an e-commerce feed, opens a hold: a record on the holds
//! changelog and an `OpenHold` in memory. Done in Python, that bookkeeping cost as much as
//! the screening itself. `BatchRun` is one consumer batch's share of it, kept here;
//! `NativeScreener.screen_run` screens messages until one needs the Python loop (no value,
//! too long, a message the decoder is not sure of, an entry that already has an open
//! hold), and returns its index. The Python loop handles that one with the models and the
//! hold book, and calls again after it. A hold opened here goes straight into the hold
//! book's containers (`HoldBook.containers`), as `HoldBook.open_at_filing` puts it there.
//!
//! Equality with the Python loop is tested, not assumed: `tests/unit/test_batch_run.py`
//! runs the same batches through the worker's loop with and without the run and compares
//! every record written, every count and the open holds.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyList, PySet, PyString, PyTuple};
use rustc_hash::{FxHashMap, FxHasher};

use crate::ahead::{Ahead, Preparation};
use crate::decode::EntryDecoder;
use crate::json;
use crate::records::OutputBatches;
use crate::{NativeScreener, Profile, RULE_IDS};

/// The filing profiles of a batch's decisions (the metrics' profile tuple: the IOR's
/// classification, the outcome, entry type, bond type, CTPAT, filer code, failed prongs),
/// counted here and added to the emitter's `profiles` once per batch: building and
/// hashing that tuple of Python objects per entry cost a tenth of the run.
#[derive(Default)]
struct ProfileCounts {
    /// A hash of the profile -> the profiles with that hash, counted.
    by_hash: FxHashMap<u64, Vec<ProfileCount>>,
}

struct ProfileCount {
    /// Whose classification and failed prongs the profile has (compared by their JSON).
    ior: Arc<Profile>,
    worst: usize,
    ctpat: bool,
    entry_type: String,
    bond_type: Option<String>,
    filer_code: Option<String>,
    count: u64,
}

impl ProfileCount {
    fn is(
        &self,
        ior: &Profile,
        worst: usize,
        ctpat: bool,
        entry_type: &str,
        bond_type: Option<&str>,
        filer_code: Option<&str>,
    ) -> bool {
        self.worst == worst
            && self.ctpat == ctpat
            && self.entry_type == entry_type
            && self.bond_type.as_deref() == bond_type
            && self.filer_code.as_deref() == filer_code
            && self.ior.json.category == ior.json.category
            && self.ior.json.failed_prongs == ior.json.failed_prongs
    }
}

impl ProfileCounts {
    fn count(
        &mut self,
        ior: &Arc<Profile>,
        worst: usize,
        entry_type: &str,
        bond_type: Option<&str>,
        filer_code: Option<&str>,
    ) {
        let ctpat = ior.registered && ior.ctpat_tier > 0;
        let mut hasher = FxHasher::default();
        (
            &ior.json.category,
            &ior.json.failed_prongs,
            worst,
            ctpat,
            entry_type,
            bond_type,
            filer_code,
        )
            .hash(&mut hasher);
        let same = self.by_hash.entry(hasher.finish()).or_default();
        for seen in same.iter_mut() {
            if seen.is(ior, worst, ctpat, entry_type, bond_type, filer_code) {
                seen.count += 1;
                return;
            }
        }
        same.push(ProfileCount {
            ior: ior.clone(),
            worst,
            ctpat,
            entry_type: entry_type.to_owned(),
            bond_type: bond_type.map(str::to_owned),
            filer_code: filer_code.map(str::to_owned),
            count: 1,
        });
    }

    /// Adds the counts to `profiles` (tuple -> count, the emitter's `Counter`) and
    /// forgets them.
    fn add_to(
        &mut self,
        profiles: &Bound<'_, PyDict>,
        outcome_names: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let py = profiles.py();
        let optional = |text: &Option<String>| match text {
            Some(text) => PyString::new(py, text).into_any(),
            None => py.None().into_bound(py),
        };
        for (_, same) in self.by_hash.drain() {
            for seen in same {
                let key = PyTuple::new(
                    py,
                    [
                        seen.ior.category.bind(py).clone(),
                        outcome_names.get_item(seen.worst)?,
                        PyString::new(py, &seen.entry_type).into_any(),
                        optional(&seen.bond_type),
                        PyBool::new(py, seen.ctpat).to_owned().into_any(),
                        optional(&seen.filer_code),
                        seen.ior.failed_prongs.bind(py).clone(),
                    ],
                )?;
                let count = match profiles.get_item(&key)? {
                    Some(count) => count.extract::<u64>()? + seen.count,
                    None => seen.count,
                };
                profiles.set_item(key, count)?;
            }
        }
        Ok(())
    }
}

/// One consumer batch's state for `NativeScreener.screen_run`: where the outputs go, what
/// the loop counts, and the hold book's containers.
#[pyclass(module = "screening_native")]
pub struct BatchRun {
    decoder: Py<EntryDecoder>,
    lookup: Py<PyAny>,
    screened_at: Py<PyAny>,
    activity: Py<PyAny>,
    into: Py<OutputBatches>,
    /// The release, hold and seizure-review topics, then the audit topic.
    topics: [String; 4],
    hold_topic: String,
    /// The hold book: partition -> entry number -> `OpenHold`; entry number -> partition
    /// (whose keys are the entries with an open hold); IOR number -> its held entries.
    hold_partitions: Py<PyDict>,
    held: Py<PyDict>,
    held_by_ior: Py<PyDict>,
    /// IOR number -> the registry digest a hold records.
    digest: Py<PyAny>,
    hold_class: Py<PyAny>,
    max_bytes: usize,
    /// IOR number -> partition, for the activity changelog.
    touched: Py<PyDict>,
    /// IOR number -> newest filing time seen.
    last_entries: Py<PyDict>,
    /// Metrics profile tuple -> count (the emitter's `profiles`), added to from
    /// `profile_counts` by `take_counts`.
    profiles: Py<PyDict>,
    profile_counts: ProfileCounts,
    /// Producer timestamps of the messages screened, for the end-to-end latency.
    arrivals: Py<PyList>,
    /// `schemas.decision.OUTCOMES`: the outcomes' names, release first.
    outcome_names: Py<PyAny>,
    screened: u64,
    outcomes: [u64; 3],
    rule_hits: [u64; 19],
    /// The batch's messages decoded on a second thread (`decode_ahead`).
    ahead: Option<Arc<Ahead>>,
    /// Messages screened from `ahead`'s decodes.
    #[pyo3(get)]
    decoded_ahead: u64,
}

#[pymethods]
impl BatchRun {
    #[new]
    #[pyo3(signature = (*, decoder, lookup, screened_at, activity, into, topics, hold_topic, holds, digest, hold_class, max_bytes, touched, last_entries, profiles, arrivals))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        decoder: Py<EntryDecoder>,
        lookup: Py<PyAny>,
        screened_at: Py<PyAny>,
        activity: Py<PyAny>,
        into: Py<OutputBatches>,
        topics: (String, String, String, String),
        hold_topic: String,
        holds: (Py<PyDict>, Py<PyDict>, Py<PyDict>),
        digest: Py<PyAny>,
        hold_class: Py<PyAny>,
        max_bytes: usize,
        touched: Py<PyDict>,
        last_entries: Py<PyDict>,
        profiles: Py<PyDict>,
        arrivals: Py<PyList>,
        py: Python<'_>,
    ) -> PyResult<Self> {
        let outcome_names = py.import("schemas.decision")?.getattr("OUTCOMES")?.unbind();
        Ok(BatchRun {
            decoder,
            lookup,
            screened_at,
            activity,
            into,
            topics: [topics.0, topics.1, topics.2, topics.3],
            hold_topic,
            hold_partitions: holds.0,
            held: holds.1,
            held_by_ior: holds.2,
            digest,
            hold_class,
            max_bytes,
            touched,
            last_entries,
            profiles,
            profile_counts: ProfileCounts::default(),
            arrivals,
            outcome_names,
            screened: 0,
            outcomes: [0; 3],
            rule_hits: [0; 19],
            ahead: None,
            decoded_ahead: 0,
        })
    }

    /// (entries screened, decisions per outcome, hits per rule id) since the last call;
    /// zero counts left out. The filing profiles counted since are added to `profiles`.
    fn take_counts<'py>(
        &mut self,
        py: Python<'py>,
    ) -> PyResult<(u64, Bound<'py, PyDict>, Bound<'py, PyDict>)> {
        let outcomes = PyDict::new(py);
        let names = self.outcome_names.bind(py);
        self.profile_counts.add_to(self.profiles.bind(py), names)?;
        for (index, count) in self.outcomes.iter().enumerate() {
            if *count > 0 {
                outcomes.set_item(names.get_item(index)?, count)?;
            }
        }
        let hits = PyDict::new(py);
        for (rule_id, count) in RULE_IDS.iter().zip(self.rule_hits) {
            if count > 0 {
                hits.set_item(rule_id, count)?;
            }
        }
        let screened = self.screened;
        self.screened = 0;
        self.outcomes = [0; 3];
        self.rule_hits = [0; 19];
        Ok((screened, outcomes, hits))
    }
}

impl BatchRun {
    /// `NativeScreener.decode_ahead`: starts the batch's decode-ahead thread, which
    /// `screen_run` takes the messages from.
    pub(crate) fn decode_ahead(
        &mut self,
        py: Python<'_>,
        lists: &[Bound<'_, PyList>],
        preparation: Preparation,
    ) -> PyResult<()> {
        self.ahead = None; // a previous batch's thread is stopped and joined first
        self.ahead = Some(Arc::new(Ahead::start(
            py,
            &self.decoder,
            lists,
            self.max_bytes,
            preparation,
        )?));
        Ok(())
    }
}

/// `NativeScreener.screen_run`: messages `start..stop` of one partition's batch, until one
/// needs the Python loop; returns its index (`stop` when none did).
pub fn screen_run(
    screener: &mut NativeScreener,
    py: Python<'_>,
    run: &mut BatchRun,
    messages: &Bound<'_, PyList>,
    start: usize,
    stop: usize,
    partition: i64,
) -> PyResult<usize> {
    let stop = stop.min(messages.len());
    // The batch's messages decoded ahead on a second thread, when they were (`Ahead`);
    // a handle of its own, so that the run stays free to change.
    let ahead_handle = run.ahead.clone();
    let ahead = ahead_handle
        .as_deref()
        .and_then(|ahead| Some((ahead, ahead.base_of(messages)?)));
    let none = py.None().into_bound(py);
    let filed = intern!(py, "filed");
    let screened_at = run.screened_at.bind(py).clone();
    let screened_text = screener.screened_at_text(&screened_at)?;
    let lookup = run.lookup.bind(py).clone();
    let activity = run.activity.bind(py).clone();
    let held = run.held.bind(py).clone();
    let held_by_ior = run.held_by_ior.bind(py).clone();
    let mut partition_holds: Option<Bound<'_, PyDict>> = None;
    let touched = run.touched.bind(py).clone();
    let last_entries = run.last_entries.bind(py).clone();
    let arrivals = run.arrivals.bind(py).clone();
    let partition_obj = partition.into_pyobject(py)?;
    let counter = activity
        .downcast::<crate::activity::ActivityCounter>()
        .ok()
        .cloned();
    for index in start..stop {
        let message = messages.get_item(index)?;
        // Without a decode-ahead thread: the message's value and its filing, decoded here.
        let inline_value: Bound<'_, PyBytes>;
        let inline;
        let (value, filing, stamp, prepared) = match ahead {
            Some((ahead, base)) => {
                let Some(decoded) = ahead.decoded(base + index) else {
                    return Ok(index); // the loop sends it to the DLQ or to pydantic
                };
                let value = ahead
                    .value(py, base + index)
                    .expect("a decoded message has its value");
                run.decoded_ahead += 1;
                // Prepared for this screener only (a batch has one, but a test may not).
                let prepared = Some(&decoded.prepared)
                    .filter(|_| ahead.prepared_for(&screener.version_text, &screener.names));
                (value, &decoded.filing, &decoded.stamp, prepared)
            }
            None => {
                let value = message.getattr(intern!(py, "value"))?;
                let Ok(value) = value.downcast_into::<PyBytes>() else {
                    return Ok(index); // no value (or not bytes): the loop sends it to the DLQ
                };
                if value.as_bytes().len() > run.max_bytes {
                    return Ok(index);
                }
                inline_value = value;
                let Some(checked) = run.decoder.get().check(inline_value.as_bytes()) else {
                    return Ok(index);
                };
                inline = checked;
                (inline_value.clone(), &inline.0, &inline.1, None)
            }
        };
        let data = value.as_bytes();
        let entry_number = PyString::new(py, &filing.entry_number);
        if held.contains(&entry_number)? {
            return Ok(index); // amended, refiled or replayed: the hold book decides
        }
        let filed_at = run.decoder.get().datetime(py, stamp)?.into_any();
        let ior_number = PyString::new(py, &filing.ior_number);
        let ior = lookup.call1((&ior_number,))?;
        match &counter {
            Some(counter) => counter
                .borrow_mut()
                .record_day(&filing.ior_number, stamp.day_number()),
            None if !activity.is_none() => {
                activity.call_method1(intern!(py, "record"), (&ior_number, &filed_at))?;
            }
            None => {}
        }
        let evaluated = screener.evaluate(
            py,
            filing,
            &ior_number,
            &filed_at,
            &ior,
            &screened_at,
            &none,
            &activity,
            filed,
            "",
            prepared,
        )?;
        let worst = evaluated.worst;
        let key = filing.entry_number.as_bytes();
        {
            let mut batches = run.into.borrow_mut(py);
            let (decision, audit) = &evaluated.encoded;
            batches.push(
                py,
                &run.topics[worst],
                partition,
                Some(key),
                Some(decision),
                &[],
            )?;
            batches.push(py, &run.topics[3], partition, Some(key), Some(audit), &[])?;
        }

        // What the loop counts per decision (Emitter.count_screened and its profiles).
        run.screened += 1;
        run.outcomes[worst] += 1;
        for (rule, _) in &evaluated.hits {
            run.rule_hits[*rule] += 1;
        }
        let profile = &evaluated.profile;
        let outcome = screener.outcomes[worst].bind(py);
        run.profile_counts.count(
            profile,
            worst,
            &filing.entry_type,
            filing.bond.as_ref().map(|bond| bond.kind.as_ref()),
            filing.broker_filer_code.as_deref(),
        );
        touched.set_item(&ior_number, &partition_obj)?;
        let newer = match last_entries.get_item(&ior_number)? {
            Some(seen) => filed_at.gt(seen)?,
            None => true,
        };
        if newer {
            last_entries.set_item(&ior_number, &filed_at)?;
        }
        arrivals.append(message.getattr(intern!(py, "timestamp"))?)?;

        if worst != 0 {
            // A hold at filing (HoldBook.open_at_filing): its changelog record, written
            // as OpenHold.to_wire writes it, and the OpenHold for the book.
            let digest = match profile.registry_digest.get() {
                Some(digest) => digest.bind(py).clone(),
                None => {
                    let digest = run.digest.bind(py).call1((&ior_number,))?;
                    if profile.registered {
                        let _ = profile.registry_digest.set(digest.clone().unbind());
                    }
                    digest
                }
            };
            let digest_text = digest.downcast::<PyString>()?.to_str()?;
            let mut record = Vec::with_capacity(data.len() + 384);
            record.extend_from_slice(b"{\"entry_number\":");
            json::push_str(&mut record, &filing.entry_number);
            record.extend_from_slice(b",\"ior_number\":");
            json::push_str(&mut record, &filing.ior_number);
            record.extend_from_slice(b",\"entry\":");
            record.extend_from_slice(data);
            record.extend_from_slice(b",\"decision_id\":");
            json::push_str(&mut record, &evaluated.id);
            record.extend_from_slice(b",\"outcome\":");
            json::push_str(&mut record, &screener.outcome_texts[worst]);
            record.extend_from_slice(b",\"rule_ids\":[");
            for (i, (rule, _)) in evaluated.hits.iter().enumerate() {
                if i > 0 {
                    record.push(b',');
                }
                record.extend_from_slice(&screener.rules[*rule].rule_id_json);
            }
            record.extend_from_slice(b"],\"held_at\":");
            record.extend_from_slice(&screened_text);
            record.extend_from_slice(b",\"updated_at\":");
            record.extend_from_slice(&screened_text);
            record
                .extend_from_slice(b",\"escalated\":false,\"resolutions\":[],\"registry_digest\":");
            json::push_str(&mut record, digest_text);
            record.push(b'}');
            run.into.borrow_mut(py).push(
                py,
                &run.hold_topic,
                partition,
                Some(key),
                Some(&record),
                &[],
            )?;
            let rule_ids = PyTuple::new(
                py,
                evaluated
                    .hits
                    .iter()
                    .map(|(rule, _)| screener.rules[*rule].rule_id.bind(py).clone()),
            )?;
            let rule_ids_of_hold = rule_ids.clone();
            let hold = run.hold_class.bind(py).call1((
                &entry_number,
                &ior_number,
                &value,
                PyString::new(py, &evaluated.id),
                outcome,
                rule_ids,
                &screened_at,
                &screened_at,
                false,
                PyTuple::empty(py),
                &digest,
            ))?;
            let values = match &partition_holds {
                Some(values) => values.clone(),
                None => {
                    let values =
                        crate::partition_values(run.hold_partitions.bind(py), &partition_obj)?;
                    partition_holds = Some(values.clone());
                    values
                }
            };
            // An OpenHold refers to strings, bytes, datetimes, a bool and a tuple of
            // strings only, so it can never be part of a reference cycle: untracked, it is
            // still freed by reference counting, and the collector no longer walks the
            // open holds (three entries in four open one) on every pass.
            // SAFETY: the GIL is held, and both objects are alive (bound here).
            unsafe {
                pyo3::ffi::PyObject_GC_UnTrack(hold.as_ptr().cast());
                pyo3::ffi::PyObject_GC_UnTrack(rule_ids_of_hold.as_ptr().cast());
            }
            values.set_item(&entry_number, hold)?;
            held.set_item(&entry_number, &partition_obj)?;
            match held_by_ior.get_item(&ior_number)? {
                Some(numbers) => numbers.downcast::<PySet>()?.add(&entry_number)?,
                None => held_by_ior.set_item(&ior_number, PySet::new(py, [&entry_number])?)?,
            }
        }
    }
    Ok(stop)
}
