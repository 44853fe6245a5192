//! JSON writing for the two outputs of a decision, byte for byte what `schemas.codec.encode`
//! (orjson with OPT_UTC_Z) writes for the same objects. Anything this module does not
//! format the same way for certain is left to orjson by its callers.

/// A JSON string as orjson escapes it: `"`, `\` and control characters only; everything
/// else, non-ASCII included, is written as it is (UTF-8).
/// Which bytes a JSON string must escape: 0 for none, else the letter of a short escape
/// (b, t, n, f, r, ", \\) or b'u' for \u00XX.
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// A JSON string as orjson escapes it: `"`, `\` and control characters only; everything
/// else, non-ASCII included, is written as it is (UTF-8).
pub fn push_str(buf: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(offset) = bytes[start..].iter().position(|&b| ESCAPE[b as usize] != 0) {
        let i = start + offset;
        buf.extend_from_slice(&bytes[start..i]);
        let b = bytes[i];
        match ESCAPE[b as usize] {
            b'u' => {
                buf.extend_from_slice(b"\\u00");
                buf.push(HEX[(b >> 4) as usize]);
                buf.push(HEX[(b & 0xf) as usize]);
            }
            letter => {
                buf.push(b'\\');
                buf.push(letter);
            }
        }
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
    buf.push(b'"');
}

/// `text` as a JSON string, for fragments written once and reused.
pub fn quoted(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    push_str(&mut out, text);
    out
}

pub fn push_opt_str(buf: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(t) => push_str(buf, t),
        None => buf.extend_from_slice(b"null"),
    }
}

/// The text before a value: `prefix` is the separator and the opening quote with the key
/// (`,"outcome`), and this adds the closing quote and the colon.
pub fn push_key(buf: &mut Vec<u8>, prefix: &str) {
    buf.extend_from_slice(prefix.as_bytes());
    buf.extend_from_slice(b"\":");
}

pub fn push_int(buf: &mut Vec<u8>, value: i64) {
    buf.extend_from_slice(value.to_string().as_bytes());
}

/// A float in the range where orjson writes the shortest round-trip digits in plain
/// notation, with ".0" after a whole number; None outside it or with more than 15
/// significant digits (the caller asks orjson).
pub fn format_float(value: f64) -> Option<String> {
    let magnitude = value.abs();
    if !(value == 0.0 || (1e-4..1e15).contains(&magnitude)) {
        return None;
    }
    let mut text = format!("{value}");
    // Up to 15 significant digits a double's shortest decimal is unique; beyond, two may be
    // equally short and close, and Rust and orjson may pick different ones.
    let significant = text
        .trim_start_matches(['-', '0', '.'])
        .bytes()
        .filter(u8::is_ascii_digit)
        .count();
    if significant > 15 {
        return None;
    }
    if !text.contains('.') {
        text.push_str(".0");
    }
    Some(text)
}

/// A date-time as orjson writes an aware one with OPT_UTC_Z: microseconds only when not
/// zero, "Z" for UTC, else the offset in hours and minutes. None for what orjson may write
/// otherwise (years before 1000, offsets with seconds).
#[allow(clippy::too_many_arguments)]
pub fn format_datetime(
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    microsecond: u32,
    offset_us: i64,
) -> Option<String> {
    if !(1000..=9999).contains(&year) || offset_us % 60_000_000 != 0 {
        return None;
    }
    fn two(text: &mut String, n: u32) {
        text.push((b'0' + (n / 10) as u8) as char);
        text.push((b'0' + (n % 10) as u8) as char);
    }
    let mut text = String::with_capacity(32);
    let y = year as u32;
    two(&mut text, y / 100);
    two(&mut text, y % 100);
    text.push('-');
    two(&mut text, month as u32);
    text.push('-');
    two(&mut text, day as u32);
    text.push('T');
    two(&mut text, hour as u32);
    text.push(':');
    two(&mut text, minute as u32);
    text.push(':');
    two(&mut text, second as u32);
    if microsecond != 0 {
        text.push('.');
        two(&mut text, microsecond / 10_000);
        two(&mut text, microsecond / 100 % 100);
        two(&mut text, microsecond % 100);
    }
    if offset_us == 0 {
        text.push('Z');
    } else {
        let minutes = (offset_us.abs() / 60_000_000) as u32;
        text.push(if offset_us < 0 { '-' } else { '+' });
        two(&mut text, minutes / 60);
        text.push(':');
        two(&mut text, minutes % 60);
    }
    Some(text)
}
