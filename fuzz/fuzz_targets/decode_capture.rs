//! Feeds arbitrary bytes to the capture reader and decodes every frame it yields; the first
//! byte also selects a link type to decode the whole input as a single frame.
#![no_main]

use firewatch_pcap::{Capture, DecodeCounters, Frame, LinkType, decode};
use libfuzzer_sys::fuzz_target;

const LINKS: [u32; 11] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147];

fuzz_target!(|data: &[u8]| {
    if let Ok(mut cap) = Capture::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec())))
    {
        let _ = cap.format().to_string();
        let mut counters = DecodeCounters::default();
        let mut last_offset = None;
        let result = cap.for_each_frame(|frame| {
            assert!(Some(frame.offset) > last_offset, "offsets must increase");
            last_offset = Some(frame.offset);
            counters.record(&decode(frame));
        });
        if let Ok(stats) = result {
            assert_eq!(stats.frames, counters.frames);
        }
    }
    if let Some((&sel, rest)) = data.split_first() {
        let frame = Frame {
            ts_ns: 0,
            link: LinkType(LINKS[usize::from(sel) % LINKS.len()]),
            data: rest,
            wire_len: rest.len() as u32 + u32::from(sel & 1) * 10,
            offset: 0,
        };
        let _ = decode(&frame);
    }
});
