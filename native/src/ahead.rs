//! A consumer batch's messages decoded ahead of the screening loop, on a second thread.
//!
//! Most of what the loop's thread does per entry needs the GIL (the registry lookup, the
//! dictionaries it keeps, the holds it opens), but decoding and validating a message's
//! bytes (serde and the models' patterns, about a sixth of the loop) needs no Python at
//! all. `Ahead` starts a thread per batch that decodes every entry message, in the order
//! the loop screens them, while the loop's thread screens the ones already decoded. Each
//! message has a slot that whichever thread reaches it first fills: when the loop catches
//! up with the thread it decodes the message itself, so it never waits for the thread
//! and a message is never decoded twice. With the filing, the slot gets what the decision
//! takes from the filing alone (`Prepared`: its id, its entered value's JSON, the names no
//! entity list can match), worked out for the screener that started the thread; the loop
//! uses it only with that screener.
//!
//! The filings borrow the messages' bytes: `Ahead` keeps the `bytes` objects alive, and
//! its drop stops and joins the thread before it lets go of them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::decode::{EntryDecoder, Stamp};
use crate::filing::Filing;
use crate::{NameForms, Prepared};

/// A message the decoder is sure of: its filing and filing time, and what its decision
/// takes from the filing alone.
pub struct Decoded {
    pub filing: Filing<'static>,
    pub stamp: Stamp,
    pub prepared: Prepared,
}

/// The screener a batch's decisions are prepared for: its pack version and its name forms
/// (compared by identity when the loop takes a `Prepared`).
pub(crate) struct Preparation {
    pub version: String,
    pub names: Arc<NameForms>,
}

/// What both threads share: where each message's bytes are, and its slot.
struct Shared {
    /// (address, length) of each message's value; None for a message the Python loop
    /// must handle whatever its bytes (no value, not bytes, too long).
    inputs: Vec<Option<(usize, usize)>>,
    /// Each message decoded: None when the decoder is not sure of it.
    slots: Vec<OnceLock<Option<Decoded>>>,
    /// The `EntryDecoder` (frozen, so shared immutably), kept alive by `Ahead::_decoder`.
    decoder: *const EntryDecoder,
    /// What `Prepared` is worked out under.
    preparation: Preparation,
    stop: AtomicBool,
}

// SAFETY: the raw pointers are to memory that `Ahead` keeps alive (the decoder and the
// messages' immutable `bytes`) until the thread has been joined; the decoder is only read
// through `&self` methods (it is a frozen class, which pyo3 requires to be `Sync`).
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    fn slot(&self, index: usize) -> &Option<Decoded> {
        self.slots[index].get_or_init(|| {
            let (address, length) = self.inputs[index]?;
            // SAFETY: see `Shared`: the bytes outlive every use of the filing, which
            // borrows them for as long as the slot exists (and no longer).
            let data: &'static [u8] =
                unsafe { std::slice::from_raw_parts(address as *const u8, length) };
            let decoder = unsafe { &*self.decoder };
            decoder.check(data).map(|(filing, stamp)| Decoded {
                prepared: Prepared::of(&filing, &self.preparation.version, &self.preparation.names),
                filing,
                stamp,
            })
        })
    }
}

pub struct Ahead {
    /// Declared first so that it is dropped before the objects its filings borrow.
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// Each partition's message list (compared by identity), its first slot and length.
    lists: Vec<(Py<PyList>, usize, usize)>,
    values: Vec<Option<Py<PyBytes>>>,
    _decoder: Py<EntryDecoder>,
}

impl Ahead {
    /// Starts decoding `lists` (each partition's messages, in the loop's order). A message
    /// longer than `max_bytes` is left to the Python loop, as one without a value is.
    pub fn start(
        py: Python<'_>,
        decoder: &Py<EntryDecoder>,
        lists: &[Bound<'_, PyList>],
        max_bytes: usize,
        preparation: Preparation,
    ) -> PyResult<Self> {
        let total = lists.iter().map(|list| list.len()).sum();
        let mut inputs = Vec::with_capacity(total);
        let mut values = Vec::with_capacity(total);
        let mut bases = Vec::with_capacity(lists.len());
        for list in lists {
            bases.push((list.clone().unbind(), inputs.len(), list.len()));
            for message in list.iter() {
                let value = message.getattr(intern!(py, "value"))?;
                match value.downcast_into::<PyBytes>() {
                    Ok(value) if value.as_bytes().len() <= max_bytes => {
                        let data = value.as_bytes();
                        inputs.push(Some((data.as_ptr() as usize, data.len())));
                        values.push(Some(value.unbind()));
                    }
                    _ => {
                        inputs.push(None);
                        values.push(None);
                    }
                }
            }
        }
        let shared = Arc::new(Shared {
            slots: (0..inputs.len()).map(|_| OnceLock::new()).collect(),
            inputs,
            decoder: decoder.get() as *const EntryDecoder,
            preparation,
            stop: AtomicBool::new(false),
        });
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("decode-ahead".into())
            .spawn(move || {
                for index in 0..theirs.slots.len() {
                    if theirs.stop.load(Ordering::Relaxed) {
                        return;
                    }
                    theirs.slot(index);
                }
            })
            .map_err(|error| {
                pyo3::exceptions::PyRuntimeError::new_err(format!(
                    "could not start the decode-ahead thread: {error}"
                ))
            })?;
        Ok(Ahead {
            shared,
            thread: Some(thread),
            lists: bases,
            values,
            _decoder: decoder.clone_ref(py),
        })
    }

    /// Where `messages`' slots begin, if this batch has them (the same list, unchanged).
    pub fn base_of(&self, messages: &Bound<'_, PyList>) -> Option<usize> {
        self.lists
            .iter()
            .find(|(list, _, length)| messages.is(list) && messages.len() == *length)
            .map(|(_, base, _)| *base)
    }

    /// Message `index`'s filing (decoded now if the thread has not reached it), or None
    /// when the Python loop must handle it.
    pub fn decoded(&self, index: usize) -> Option<&Decoded> {
        self.shared.slot(index).as_ref()
    }

    /// Whether the decisions were prepared for a screener with this pack version and
    /// these name forms.
    pub fn prepared_for(&self, version: &str, names: &Arc<NameForms>) -> bool {
        let preparation = &self.shared.preparation;
        preparation.version == version && Arc::ptr_eq(&preparation.names, names)
    }

    /// Message `index`'s value (there is one whenever `decoded` gave a filing).
    pub fn value<'py>(&self, py: Python<'py>, index: usize) -> Option<Bound<'py, PyBytes>> {
        self.values[index]
            .as_ref()
            .map(|value| value.bind(py).clone())
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The thread touches no Python object and takes no lock the GIL's holder
            // holds, so joining with the GIL held cannot deadlock; a panic in it (a bug)
            // leaves its slots to this thread, which fills them itself.
            let _ = thread.join();
        }
    }
}
