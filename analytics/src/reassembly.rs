//! TCP reassembly of one direction of a connection into the byte stream a parser reads.
//!
//! A [`Stream`] follows sequence numbers (with wrap-around), delivers in-order bytes to a
//! consumer, holds out-of-order segments up to a byte bound, trims retransmissions and overlaps,
//! and declares a gap when bytes are known to be lost: the out-of-order buffer overflows, the
//! peer acknowledges data the capture never saw, or the connection ends with a hole. A stream
//! first seen after its SYN starts with a gap of unknown size, so the parser resynchronises.
//!
//! The consumer returns how many bytes it used (whole PDUs); the rest waits for more data. When
//! a PDU lies inside one segment nothing is copied; only a PDU split across segments is
//! buffered, and that buffer is bounded: a consumer that never makes progress has its bytes
//! discarded as a gap rather than growing memory.
//!
//! A stream that stays in order, as nearly all do, costs 48 bytes: the out-of-order store and
//! the counters of trouble (retransmissions, gaps, discarded bytes) are allocated the first
//! time they are needed. One million idle flows hold two streams each, so this matters.
//!
//! Overlapping retransmissions keep the bytes seen first. Urgent data and TCP options (SACK,
//! timestamps, window scaling) are not interpreted: they do not change which bytes a passive
//! observer saw.

/// What a [`Stream`] hands its consumer.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// Contiguous bytes, starting where the consumer last stopped.
    Data(&'a [u8]),
    /// Bytes were lost before what follows; `lost` counts them (0 when unknown, as for a
    /// stream joined mid-way). Any partial PDU the consumer was waiting on is gone.
    Gap { lost: u64 },
}

/// Bounds of one direction's buffers.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Bytes held out of order before a gap is declared.
    pub max_out_of_order: usize,
    /// Bytes of an incomplete PDU held before they are dropped as unparseable.
    pub max_pending: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_out_of_order: 256 * 1024,
            max_pending: 256 * 1024,
        }
    }
}

/// Counters of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Payload bytes delivered in order.
    pub bytes: u64,
    pub retransmitted_bytes: u64,
    pub out_of_order_segments: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Bytes dropped because the consumer could not use them within `max_pending`.
    pub discarded_bytes: u64,
}

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct Stream {
    next_seq: Option<u32>,
    /// The stream's first byte is known (its SYN was seen).
    from_syn: bool,
    /// Payload bytes delivered in order.
    bytes: u64,
    /// In-order bytes the consumer has not used yet (the start of a split PDU).
    pending: Vec<u8>,
    /// What only a stream with trouble needs; `None` until the first retransmission,
    /// out-of-order segment, gap or discard.
    trouble: Option<Box<Trouble>>,
}

/// The parts of a [`Stream`] that an in-order stream never uses.
#[derive(Debug, Default)]
struct Trouble {
    /// Out-of-order segments as (sequence number, bytes), in arrival order.
    out_of_order: Vec<(u32, Vec<u8>)>,
    out_of_order_bytes: usize,
    retransmitted_bytes: u64,
    out_of_order_segments: u64,
    gaps: u64,
    gap_bytes: u64,
    discarded_bytes: u64,
}

/// Signed distance from `from` to `to` in sequence space.
fn seq_diff(to: u32, from: u32) -> i64 {
    i64::from(to.wrapping_sub(from) as i32)
}

impl Stream {
    /// Whether the stream has seen its start (SYN) or first byte.
    pub fn started(&self) -> bool {
        self.next_seq.is_some()
    }

    /// Bytes currently held (pending and out of order), for memory accounting.
    pub fn buffered(&self) -> usize {
        self.pending.capacity() + self.trouble.as_ref().map_or(0, |t| t.out_of_order_bytes)
    }

    /// The direction's counters so far.
    pub fn stats(&self) -> StreamStats {
        let mut stats = StreamStats {
            bytes: self.bytes,
            ..StreamStats::default()
        };
        if let Some(t) = &self.trouble {
            stats.retransmitted_bytes = t.retransmitted_bytes;
            stats.out_of_order_segments = t.out_of_order_segments;
            stats.gaps = t.gaps;
            stats.gap_bytes = t.gap_bytes;
            stats.discarded_bytes = t.discarded_bytes;
        }
        stats
    }

    fn trouble(&mut self) -> &mut Trouble {
        self.trouble.get_or_insert_with(Box::default)
    }

    fn count_retransmitted(&mut self, bytes: usize) {
        if bytes > 0 {
            self.trouble().retransmitted_bytes += bytes as u64;
        }
    }

    fn has_held(&self) -> bool {
        self.trouble
            .as_ref()
            .is_some_and(|t| !t.out_of_order.is_empty())
    }

    /// A SYN from this direction: the stream starts at `seq + 1`.
    pub fn syn(&mut self, seq: u32) {
        if self.next_seq.is_none() {
            self.next_seq = Some(seq.wrapping_add(1));
            self.from_syn = true;
        }
    }

    /// Whether the consumer sees the stream from its first byte.
    pub fn start_known(&self) -> bool {
        self.from_syn
    }

    /// Offers the bytes held back by the consumer again (for example to a parser chosen only
    /// after they arrived).
    pub fn replay<F>(&mut self, limits: &Limits, consumer: &mut F)
    where
        F: FnMut(Chunk<'_>) -> usize,
    {
        if self.pending.is_empty() {
            return;
        }
        let used = consumer(Chunk::Data(&self.pending)).min(self.pending.len());
        self.pending.drain(..used);
        self.check_pending(limits, consumer);
    }

    /// Forgets the bytes held back by the consumer.
    pub fn discard_pending(&mut self) {
        self.pending = Vec::new();
    }

    /// A segment of this direction with sequence number `seq`.
    pub fn segment<F>(&mut self, seq: u32, payload: &[u8], limits: &Limits, consumer: &mut F)
    where
        F: FnMut(Chunk<'_>) -> usize,
    {
        if payload.is_empty() {
            return;
        }
        let next = match self.next_seq {
            Some(next) => next,
            None => {
                // Joined mid-stream: whatever came before is unknown.
                consumer(Chunk::Gap { lost: 0 });
                self.next_seq = Some(seq);
                seq
            }
        };

        let offset = seq_diff(seq, next);
        if offset > 0 {
            self.hold(seq, payload, limits, consumer);
            return;
        }
        let old = offset.unsigned_abs().min(payload.len() as u64) as usize;
        self.count_retransmitted(old);
        if old == payload.len() {
            return;
        }
        self.deliver(&payload[old..], limits, consumer);
        self.drain_out_of_order(limits, consumer);
    }

    /// The peer acknowledged everything before `ack`: bytes of this direction before it that
    /// the capture never saw are lost, and any segment held behind them can be delivered.
    pub fn peer_ack<F>(&mut self, ack: u32, limits: &Limits, consumer: &mut F)
    where
        F: FnMut(Chunk<'_>) -> usize,
    {
        let Some(next) = self.next_seq else { return };
        if !self.has_held() || seq_diff(ack, next) <= 0 {
            return;
        }
        let first_held = self.lowest_held().unwrap_or(ack);
        if seq_diff(ack, first_held) >= 0 {
            self.skip_to(first_held, consumer);
            self.drain_out_of_order(limits, consumer);
        }
    }

    /// The connection is over: deliver what is held, declaring the holes as gaps.
    pub fn finish<F>(&mut self, limits: &Limits, consumer: &mut F)
    where
        F: FnMut(Chunk<'_>) -> usize,
    {
        while let Some(first_held) = self.lowest_held() {
            self.skip_to(first_held, consumer);
            self.drain_out_of_order(limits, consumer);
        }
    }

    fn hold<F>(&mut self, seq: u32, payload: &[u8], limits: &Limits, consumer: &mut F)
    where
        F: FnMut(Chunk<'_>) -> usize,
    {
        let t = self.trouble();
        t.out_of_order_segments += 1;
        if let Some(held) = t.out_of_order.iter_mut().find(|(s, _)| *s == seq) {
            if held.1.len() < payload.len() {
                t.out_of_order_bytes += payload.len() - held.1.len();
                held.1 = payload.to_vec();
            }
        } else {
            t.out_of_order.push((seq, payload.to_vec()));
            t.out_of_order_bytes += payload.len();
        }
        while self.trouble().out_of_order_bytes > limits.max_out_of_order {
            let Some(first_held) = self.lowest_held() else {
                break;
            };
            self.skip_to(first_held, consumer);
            self.drain_out_of_order(limits, consumer);
        }
    }

    fn lowest_held(&self) -> Option<u32> {
        let next = self.next_seq?;
        self.trouble
            .as_ref()?
            .out_of_order
            .iter()
            .map(|(seq, _)| *seq)
            .min_by_key(|seq| seq_diff(*seq, next))
    }

    /// Declares the bytes up to `seq` lost.
    fn skip_to<F>(&mut self, seq: u32, consumer: &mut F)
    where
        F: FnMut(Chunk<'_>) -> usize,
    {
        let Some(next) = self.next_seq else { return };
        let lost = seq_diff(seq, next).max(0) as u64;
        if lost == 0 {
            return;
        }
        let t = self.trouble();
        t.gaps += 1;
        t.gap_bytes += lost;
        self.pending.clear();
        consumer(Chunk::Gap { lost });
        self.next_seq = Some(seq);
    }

    fn drain_out_of_order<F>(&mut self, limits: &Limits, consumer: &mut F)
    where
        F: FnMut(Chunk<'_>) -> usize,
    {
        loop {
            let Some(next) = self.next_seq else { return };
            let Some(t) = self.trouble.as_mut() else {
                return;
            };
            let Some(index) = t
                .out_of_order
                .iter()
                .position(|(seq, _)| seq_diff(*seq, next) <= 0)
            else {
                return;
            };
            let (seq, bytes) = t.out_of_order.swap_remove(index);
            t.out_of_order_bytes -= bytes.len();
            let old = seq_diff(next, seq).max(0) as usize;
            if old < bytes.len() {
                self.count_retransmitted(old);
                self.deliver(&bytes[old..], limits, consumer);
            } else {
                self.count_retransmitted(bytes.len());
            }
        }
    }

    fn deliver<F>(&mut self, data: &[u8], limits: &Limits, consumer: &mut F)
    where
        F: FnMut(Chunk<'_>) -> usize,
    {
        self.next_seq = self.next_seq.map(|n| n.wrapping_add(data.len() as u32));
        self.bytes += data.len() as u64;

        if self.pending.is_empty() {
            let used = consumer(Chunk::Data(data)).min(data.len());
            if used < data.len() {
                self.pending.extend_from_slice(&data[used..]);
            }
        } else {
            self.pending.extend_from_slice(data);
            let used = consumer(Chunk::Data(&self.pending)).min(self.pending.len());
            self.pending.drain(..used);
        }
        self.check_pending(limits, consumer);
    }

    /// Drops held bytes the consumer cannot use within the bound, as a gap.
    fn check_pending<F>(&mut self, limits: &Limits, consumer: &mut F)
    where
        F: FnMut(Chunk<'_>) -> usize,
    {
        if self.pending.len() > limits.max_pending {
            let lost = self.pending.len() as u64;
            let t = self.trouble();
            t.discarded_bytes += lost;
            t.gaps += 1;
            t.gap_bytes += lost;
            self.pending = Vec::new();
            consumer(Chunk::Gap { lost });
        } else if self.pending.is_empty() && self.pending.capacity() > 4096 {
            self.pending = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A consumer of 4-byte records that remembers what it saw.
    #[derive(Default)]
    struct Records {
        records: Vec<Vec<u8>>,
        gaps: Vec<u64>,
    }

    impl Records {
        fn feed(&mut self, chunk: Chunk<'_>) -> usize {
            match chunk {
                Chunk::Data(data) => {
                    let whole = data.len() / 4 * 4;
                    self.records
                        .extend(data[..whole].chunks(4).map(<[u8]>::to_vec));
                    whole
                }
                Chunk::Gap { lost } => {
                    self.gaps.push(lost);
                    0
                }
            }
        }
    }

    fn stream_bytes() -> Vec<u8> {
        (0u8..40).collect()
    }

    fn run(segments: &[(u32, &[u8])], limits: Limits) -> (Records, StreamStats) {
        let mut stream = Stream::default();
        let mut records = Records::default();
        stream.syn(999);
        for (seq, payload) in segments {
            stream.segment(*seq, payload, &limits, &mut |c| records.feed(c));
        }
        stream.finish(&limits, &mut |c| records.feed(c));
        (records, stream.stats())
    }

    fn expected() -> Vec<Vec<u8>> {
        stream_bytes().chunks(4).map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn every_split_point_gives_the_same_records() {
        let data = stream_bytes();
        for cut in 1..data.len() {
            let (records, stats) = run(
                &[(1000, &data[..cut]), (1000 + cut as u32, &data[cut..])],
                Limits::default(),
            );
            assert_eq!(records.records, expected(), "cut at {cut}");
            assert!(records.gaps.is_empty());
            assert_eq!(stats.bytes, 40);
        }
    }

    #[test]
    fn reordered_and_duplicated_segments_give_the_same_records() {
        let data = stream_bytes();
        let (a, b, c) = (&data[..10], &data[10..25], &data[25..]);
        let (records, stats) = run(
            &[
                (1025, c),
                (1010, b),
                (1010, b),
                (1000, a),
                (1000, a),
                (1005, &data[5..30]),
            ],
            Limits::default(),
        );
        assert_eq!(records.records, expected());
        assert!(records.gaps.is_empty());
        assert_eq!(stats.out_of_order_segments, 3);
        assert_eq!(stats.retransmitted_bytes, 10 + 25);
    }

    #[test]
    fn an_in_order_stream_allocates_nothing_for_trouble() {
        let data = stream_bytes();
        let mut stream = Stream::default();
        let mut records = Records::default();
        let limits = Limits::default();
        stream.syn(999);
        stream.segment(1000, &data[..20], &limits, &mut |c| records.feed(c));
        stream.segment(1020, &data[20..], &limits, &mut |c| records.feed(c));
        assert!(stream.trouble.is_none());
        assert_eq!(stream.stats().bytes, 40);

        // The first retransmission brings the counters in, and they count from there.
        stream.segment(1030, &data[30..], &limits, &mut |c| records.feed(c));
        assert!(stream.trouble.is_some());
        assert_eq!(stream.stats().retransmitted_bytes, 10);
        assert_eq!(records.records, expected());
    }

    #[test]
    fn sequence_numbers_wrap() {
        let data = stream_bytes();
        let mut stream = Stream::default();
        let mut records = Records::default();
        let limits = Limits::default();
        stream.syn(u32::MAX - 5);
        stream.segment(u32::MAX - 4, &data[..20], &limits, &mut |c| records.feed(c));
        stream.segment(15, &data[20..], &limits, &mut |c| records.feed(c));
        assert_eq!(records.records, expected());
    }

    #[test]
    fn a_hole_at_the_end_is_a_gap_and_parsing_resumes_after_it() {
        let data = stream_bytes();
        let (records, stats) = run(
            &[(1000, &data[..8]), (1016, &data[16..])],
            Limits::default(),
        );
        assert_eq!(records.gaps, vec![8]);
        assert_eq!(records.records.len(), 2 + 6);
        assert_eq!(records.records[2], data[16..20].to_vec());
        assert_eq!((stats.gaps, stats.gap_bytes), (1, 8));
    }

    #[test]
    fn the_peer_ack_declares_a_hole_lost_at_once() {
        let data = stream_bytes();
        let limits = Limits::default();
        let mut stream = Stream::default();
        let mut records = Records::default();
        stream.syn(999);
        stream.segment(1000, &data[..8], &limits, &mut |c| records.feed(c));
        stream.segment(1016, &data[16..24], &limits, &mut |c| records.feed(c));
        assert_eq!(records.records.len(), 2);
        stream.peer_ack(1024, &limits, &mut |c| records.feed(c));
        assert_eq!(records.gaps, vec![8]);
        assert_eq!(records.records.len(), 4);
    }

    #[test]
    fn out_of_order_overflow_is_bounded() {
        let data = vec![7u8; 64];
        let limits = Limits {
            max_out_of_order: 100,
            max_pending: 100,
        };
        let mut stream = Stream::default();
        let mut records = Records::default();
        stream.syn(999);
        for i in 1..10u32 {
            stream.segment(1000 + i * 64, &data, &limits, &mut |c| records.feed(c));
            assert!(stream.buffered() <= 100);
        }
        assert_eq!(records.gaps.first(), Some(&64));
    }

    #[test]
    fn a_consumer_that_never_progresses_cannot_grow_memory() {
        let limits = Limits {
            max_out_of_order: 100,
            max_pending: 100,
        };
        let mut stream = Stream::default();
        let mut gaps = 0;
        stream.syn(0);
        for i in 0..10u32 {
            stream.segment(1 + i * 64, &[1u8; 64], &limits, &mut |c| match c {
                Chunk::Data(_) => 0,
                Chunk::Gap { .. } => {
                    gaps += 1;
                    0
                }
            });
            assert!(stream.pending.len() <= 100);
        }
        assert!(gaps >= 4);
        assert!(stream.stats().discarded_bytes > 0);
    }

    #[test]
    fn a_stream_joined_mid_way_starts_with_a_gap() {
        let mut stream = Stream::default();
        let mut records = Records::default();
        let limits = Limits::default();
        stream.segment(5000, &[1, 2, 3, 4], &limits, &mut |c| records.feed(c));
        assert_eq!(records.gaps, vec![0]);
        assert_eq!(records.records, vec![vec![1, 2, 3, 4]]);
    }
}
