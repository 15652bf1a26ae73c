//! HTTP/2 answers that share write system calls: a connection's streams run on the
//! connection's own task, and review answers leave in DATA frames small enough to be batched.
//!
//! The API server multiplexes many reviews over one HTTP/2 connection. Under load, a write
//! system call per answer is a large part of the webhook's cost: on loopback, a benchmark
//! measured a fifth of the server's CPU time in `writev`, most of it per call (the TCP send,
//! the receiver's wake-up), not per byte. Two things in the stock setup force that call per
//! answer, and this module removes both:
//!
//! - **A task per stream.** hyper hands every HTTP/2 stream to its executor, and tokio's
//!   multi-threaded runtime runs the task a finishing stream wakes (the connection's) right
//!   after it, before the next stream has answered: the connection writes each answer alone.
//!   [`ConnectionExecutor`] queues the streams instead, and [`Streams`] polls them on the
//!   connection's task, after the connection: every stream that can answer does, and the
//!   connection's next poll writes all their frames together.
//! - **Chained DATA frames.** h2 copies a short DATA frame into its write buffer, but writes a
//!   longer one straight from its own memory, after the buffer, and flushes both before it
//!   takes another frame. Short is under 256 bytes on a stream with vectored writes, under
//!   1,024 on one without (`CHAIN_THRESHOLD` in h2's `codec/framed_write.rs`). A review answer
//!   with warnings and audit annotations is over either (1.4 KB in the benchmark), so each
//!   would end a write. So an HTTP/2 connection's stream reports no vectored writes
//!   (`read_timer::TimedIo::untimed`), and [`SmallFrames`] hands hyper the answer in slices of
//!   [`FRAME_BYTES`], which h2 copies and batches. Each frame costs nine bytes of header and a
//!   few thousand instructions in hyper and h2 (callgrind over 20,000 reviews: 178k
//!   instructions per request in frames of 255 bytes, 163k in frames of 1,023), hence slices
//!   as long as h2 still copies.
//!
//! Together they took the benchmark's writes from 1.0 to 0.27 per request, and the server's
//! CPU time per request from 28-34 us to 22-27 us on this project's 2-core VM
//! (`bench/webhook-load.sh` prints both).
//!
//! The price is that one connection's reviews share one thread: the runtime's other workers
//! cannot steal them. A review costs microseconds, so a thread answers tens of thousands a
//! second. The one long decision, checking a namespace's existing pods, lists them on a task
//! of its own (`admit.rs`) and yields every few pods as it evaluates them
//! (`podsec_admission::admit`), so that the other streams keep being answered meanwhile.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use axum::body::Bytes;
use futures::FutureExt as _;
use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use http_body::{Frame, SizeHint};

/// A stream's future, as hyper hands it over.
type StreamFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// hyper's executor for one connection: keeps the streams hyper starts for [`Streams`] to run
/// on the connection's task. Each connection needs its own (see [`Streams::executor`]).
#[derive(Clone, Default)]
pub struct ConnectionExecutor {
    started: Arc<Mutex<Vec<StreamFuture>>>,
}

impl<F> hyper::rt::Executor<F> for ConnectionExecutor
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, stream: F) {
        // A panic in one stream (a bug in hyper or in a handler outside the decision, which
        // has its own guard) ends that stream, as it would end its task, not the connection.
        let guarded = AssertUnwindSafe(stream).catch_unwind().map(|outcome| {
            if outcome.is_err() {
                tracing::error!("an HTTP/2 stream panicked; its request gets no answer");
            }
        });
        self.started().push(Box::pin(guarded));
    }
}

impl ConnectionExecutor {
    /// The streams started and not yet taken by [`Streams`]. Only the connection's task uses
    /// the lock, so it is never contended.
    fn started(&self) -> std::sync::MutexGuard<'_, Vec<StreamFuture>> {
        self.started.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The streams of one connection, run on the connection's task by [`Streams::drive`].
#[derive(Default)]
pub struct Streams {
    executor: ConnectionExecutor,
    running: FuturesUnordered<StreamFuture>,
}

impl Streams {
    /// The executor to build this connection's hyper connection with.
    pub fn executor(&self) -> ConnectionExecutor {
        self.executor.clone()
    }

    /// Runs `connection` and the streams it starts until the connection ends. Streams still
    /// running then are dropped with their requests: their connection is gone.
    pub async fn drive<C: Future>(&mut self, mut connection: Pin<&mut C>) -> C::Output {
        std::future::poll_fn(|cx| self.poll(connection.as_mut(), cx)).await
    }

    fn poll<C: Future>(
        &mut self,
        mut connection: Pin<&mut C>,
        cx: &mut Context<'_>,
    ) -> Poll<C::Output> {
        loop {
            // First the connection: it reads requests (starting streams), delivers their
            // bodies and writes what the streams have answered since its last poll.
            if let Poll::Ready(output) = connection.as_mut().poll(cx) {
                return Poll::Ready(output);
            }
            let started = {
                let mut started = self.executor.started();
                let any = !started.is_empty();
                self.running.extend(started.drain(..));
                any
            };
            // Then every stream that can make progress, before the connection writes again.
            let mut finished = false;
            while let Poll::Ready(Some(())) = self.running.poll_next_unpin(cx) {
                finished = true;
            }
            // New streams have been polled once and finished ones have left answers to write:
            // the connection has work. So do streams started by other streams (hyper does
            // that only for CONNECT, which this server does not serve). Otherwise everything
            // waits on a waker.
            if !started && !finished && self.executor.started().is_empty() {
                return Poll::Pending;
            }
        }
    }
}

/// The longest DATA frame h2 copies into its write buffer on a stream without vectored writes
/// (one under its `CHAIN_THRESHOLD_WITHOUT_VECTORED_IO`).
pub const FRAME_BYTES: usize = 1023;

/// A response body that hyper sends as DATA frames of at most [`FRAME_BYTES`] (see the module
/// documentation). Its exact length is known, so the response still has a Content-Length.
#[derive(Debug)]
pub struct SmallFrames(Bytes);

impl SmallFrames {
    pub fn new(body: Bytes) -> SmallFrames {
        SmallFrames(body)
    }
}

impl http_body::Body for SmallFrames {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.0.is_empty() {
            return Poll::Ready(None);
        }
        let len = self.0.len().min(FRAME_BYTES);
        Poll::Ready(Some(Ok(Frame::data(self.0.split_to(len)))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use hyper::rt::Executor as _;

    use super::*;

    /// Every frame of `body` as hyper would take them, and whether the body then says it has
    /// ended. (`SmallFrames` never waits.)
    fn frames_of(body: Bytes) -> (Vec<Bytes>, bool) {
        let mut small = std::pin::pin!(SmallFrames::new(body));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut frames = Vec::new();
        while let Poll::Ready(Some(frame)) = http_body::Body::poll_frame(small.as_mut(), &mut cx) {
            frames.push(frame.expect("infallible").into_data().expect("data"));
        }
        (frames, http_body::Body::is_end_stream(&*small))
    }

    proptest::proptest! {
        /// The frames are the body, in order, each as long as h2 still copies but the last,
        /// which is not empty; the declared length is the body's.
        #[test]
        fn small_frames_are_the_body_in_full_slices(
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..5000)
        ) {
            let body = Bytes::from(body);
            let declared = http_body::Body::size_hint(&SmallFrames::new(body.clone())).exact();
            proptest::prop_assert_eq!(declared, Some(body.len() as u64));
            let (frames, ended) = frames_of(body.clone());
            proptest::prop_assert!(ended);
            proptest::prop_assert_eq!(frames.len(), body.len().div_ceil(FRAME_BYTES));
            if let Some((last, full)) = frames.split_last() {
                proptest::prop_assert!(full.iter().all(|frame| frame.len() == FRAME_BYTES));
                proptest::prop_assert!(!last.is_empty() && last.len() <= FRAME_BYTES);
            }
            proptest::prop_assert_eq!(frames.concat(), body.to_vec());
        }
    }

    #[test]
    fn a_review_answer_takes_two_frames() {
        let (frames, _) = frames_of(Bytes::from(vec![b'x'; 1394]));
        let lengths: Vec<usize> = frames.iter().map(Bytes::len).collect();
        assert_eq!(lengths, [1023, 371]);
    }

    /// The connection's stand-in: starts `streams` streams on its first poll, each of which
    /// counts itself done after yielding once, and ends once all have. Returns how many were
    /// done at each of its polls.
    struct FakeConnection {
        executor: ConnectionExecutor,
        streams: usize,
        done: Arc<AtomicUsize>,
        seen: Vec<usize>,
    }

    impl Future for FakeConnection {
        type Output = Vec<usize>;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<usize>> {
            let done = self.done.load(Ordering::SeqCst);
            self.seen.push(done);
            if self.seen.len() == 1 {
                for _ in 0..self.streams {
                    let done = Arc::clone(&self.done);
                    let waker = cx.waker().clone();
                    self.executor.execute(async move {
                        tokio::task::yield_now().await;
                        done.fetch_add(1, Ordering::SeqCst);
                        // As h2 does when a stream queues a frame: wake the connection.
                        waker.wake();
                    });
                }
            }
            if done == self.streams {
                Poll::Ready(std::mem::take(&mut self.seen))
            } else {
                Poll::Pending
            }
        }
    }

    #[tokio::test]
    async fn streams_run_on_the_connections_task_until_it_ends() {
        let mut streams = Streams::default();
        let done = Arc::new(AtomicUsize::new(0));
        let connection = FakeConnection {
            executor: streams.executor(),
            streams: 4,
            done: Arc::clone(&done),
            seen: Vec::new(),
        };
        let connection = std::pin::pin!(connection);
        let seen = streams.drive(connection).await;
        // All four answered between two polls of the connection (one batch to write), which
        // never saw some done and others not.
        assert_eq!(seen.last(), Some(&4));
        assert!(seen.iter().all(|&done| done == 0 || done == 4), "{seen:?}");
    }

    #[test]
    fn a_stream_started_by_a_stream_runs() {
        let mut streams = Streams::default();
        let executor = streams.executor();
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        let mut wait = Some(wait);
        let done = Arc::new(AtomicUsize::new(0));
        let connection = std::future::poll_fn(|cx| {
            if let Some(wait) = wait.take() {
                let executor_for_second = executor.clone();
                let done = Arc::clone(&done);
                let waker = cx.waker().clone();
                // Waits for the signal, then starts a second stream and never ends.
                executor.execute(async move {
                    let _ = wait.await;
                    executor_for_second.execute(async move {
                        done.fetch_add(1, Ordering::SeqCst);
                        waker.wake();
                    });
                    std::future::pending::<()>().await;
                });
            }
            if done.load(Ordering::SeqCst) == 1 {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        });
        let connection = std::pin::pin!(connection);
        let mut driven = std::pin::pin!(streams.drive(connection));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(driven.as_mut().poll(&mut cx).is_pending());
        // The signal wakes the first stream; in the one poll that follows, it starts the
        // second, which must run then, as nothing else will wake the connection's task.
        go.send(()).expect("the first stream waits");
        assert!(driven.as_mut().poll(&mut cx).is_ready());
    }

    #[tokio::test]
    async fn a_panicking_stream_ends_alone() {
        let mut streams = Streams::default();
        let executor = streams.executor();
        let finished = Arc::new(AtomicUsize::new(0));
        executor.execute(async { panic!("a bug in one stream") });
        let counted = Arc::clone(&finished);
        executor.execute(async move {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        let mut polls = 0;
        let connection = std::future::poll_fn(|cx| {
            polls += 1;
            if polls < 3 {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        });
        let connection = std::pin::pin!(connection);
        streams.drive(connection).await;
        assert_eq!(finished.load(Ordering::SeqCst), 1);
    }
}
