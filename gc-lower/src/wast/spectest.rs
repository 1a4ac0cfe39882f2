//! The host that wasmtime's wast harness links into every component test, so that a script
//! written for `wasmtime wast` runs here unchanged.
//!
//! It follows the synchronous part of `link_component_spectest` in the `wasmtime-wast` crate
//! (`src/spectest.rs`, 48.0.8), which that crate does not export: `host-return-two` at the
//! root, and an instance `host` with `return-three`, `nested` (`return-four`), `return-hi`,
//! the resources `resource1`, `resource1-again` (the same type) and `resource2`, and
//! `resource1`'s constructor, methods and statics, and the core module `simple-module` (a
//! global `g` of 100 and a function `f` returning 101). When the engine has concurrency
//! support (a script that turns on component-model async) the asynchronous functions are
//! there too: `host-echo-u32` (returns its argument at once), `host.never-return` and
//! `host.[method]resource1.never-return` (never return), `host.return-two-slowly` and
//! `host.echo-slowly` (return after yielding once to the executor). gc-lower's own tests add
//! more of the latter kind, for the value types of an `async` lowering's results:
//! `host.echo-slowly-s8`, `-u64`, `-f64`, `host.pair-slowly` (a `u32` and a `u64` returned as
//! a tuple), `host.sum5-slowly` (the sum of five `u32`s), `host.mix-slowly` (a `u8`, a
//! `u64`, a string, an `s16`, an `f32` and a `bool`, seven flat values, folded into a
//! `u64`: `a + b + 1000 * len(c) + d + 100 * e + 7 * f`, wrapping), `host.echo-string-slowly`
//! and `host.[method]resource1.rep-slowly` (the rep of a borrowed `resource1`); and
//! `host.consume-stream`, which reads the `stream<u8>` it is passed until its writer drops it
//! and returns `len << 32 | sum` of the bytes, and `host.consume-stream-slowly`, the same
//! with each write taken only after yielding once to the executor (so that the writer's
//! write is `BLOCKED` first), and `host.consume-stream-once`, which takes the first write
//! and then drops its readable end; and `host.produce-stream (n, chunk, slow)`, which
//! returns a `stream<u8>` of the `n` bytes `(3 * i + 1) & 0xff`, at most `chunk` per read,
//! each after yielding once to the executor when `slow`; `host.future-to-host`, which
//! reads the `future<u32>` it is passed and returns its value plus one, and
//! `host.future-from-host (v, slow)`, which returns a `future<u32>` of `2 * v`, written after
//! yielding once when `slow`, and `host.result-from-host (v)`, which returns a
//! `future<result<u32, u8>>`: `ok(v)` for an even `v`, else `err(v % 256)`, and
//! `host.future-never`, which returns a `future<u32>` never written.
//!
//! Where wasmtime's host asserts (and panics), this one traps with the reason.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::task::Poll;

use anyhow::Result;
use wasmtime::Module;
use wasmtime::StoreContextMut;
use wasmtime::component::{
    ComponentType, Destination, FutureConsumer, FutureReader, Lift, Linker, LinkerInstance, Lower,
    Resource, ResourceType, Source, StreamConsumer, StreamProducer, StreamReader, StreamResult,
    VecBuffer,
};

/// Returns a trap with a message from the host function.
macro_rules! fail {
    ($($arg:tt)*) => {
        return Err(wasmtime::Error::msg(format!($($arg)*)))
    };
}

/// The host's own resource type (`host.resource1`, also imported as `resource1-again`).
struct Resource1;
/// A second resource type (`host.resource2`).
struct Resource2;

/// How many `resource1`s were dropped, and the rep of the last.
#[derive(Default)]
struct Drops {
    count: AtomicU32,
    last: AtomicU32,
}

/// Defines the host in `linker`. Errors: a name is already defined and shadowing is off.
pub fn link(linker: &mut Linker<()>) -> Result<()> {
    let engine = linker.engine().clone();
    if engine.get_concurrency_support() {
        link_async(linker)?;
    }
    linker
        .root()
        .func_wrap("host-return-two", |_, (): ()| Ok((2u32,)))?;
    let mut host = linker.instance("host")?;
    host.func_wrap("return-three", |_, (): ()| Ok((3u32,)))?;
    host.instance("nested")?
        .func_wrap("return-four", |_, (): ()| Ok((4u32,)))?;
    host.func_wrap("return-hi", |_, (): ()| Ok(("hi".to_string(),)))?;
    let simple = Module::new(
        &engine,
        r#"(module
            (global (export "g") i32 i32.const 100)
            (func (export "f") (result i32) i32.const 101))"#,
    )?;
    host.module("simple-module", &simple)?;

    let drops = Arc::new(Drops::default());
    host.resource("resource1", ResourceType::host::<Resource1>(), {
        let drops = drops.clone();
        move |_, rep| {
            drops.count.fetch_add(1, SeqCst);
            drops.last.store(rep, SeqCst);
            Ok(())
        }
    })?;
    host.resource(
        "resource2",
        ResourceType::host::<Resource2>(),
        |_, _| Ok(()),
    )?;
    host.resource(
        "resource1-again",
        ResourceType::host::<Resource1>(),
        |_, _| -> wasmtime::Result<()> {
            fail!("`resource1-again` must not be dropped through this name")
        },
    )?;
    host.func_wrap("[constructor]resource1", |_, (rep,): (u32,)| {
        Ok((Resource::<Resource1>::new_own(rep),))
    })?;
    host.func_wrap(
        "[static]resource1.assert",
        |_, (resource, rep): (Resource<Resource1>, u32)| {
            if resource.rep() != rep {
                fail!("resource1.assert: rep {} is not {rep}", resource.rep());
            }
            Ok(())
        },
    )?;
    host.func_wrap("[static]resource1.last-drop", {
        let drops = drops.clone();
        move |_, (): ()| Ok((drops.last.load(SeqCst),))
    })?;
    host.func_wrap("[static]resource1.drops", {
        let drops = drops.clone();
        move |_, (): ()| Ok((drops.count.load(SeqCst),))
    })?;
    host.func_wrap(
        "[method]resource1.simple",
        |_, (resource, rep): (Resource<Resource1>, u32)| {
            if resource.owned() {
                fail!("resource1.simple: `self` is owned, not borrowed");
            }
            if resource.rep() != rep {
                fail!("resource1.simple: rep {} is not {rep}", resource.rep());
            }
            Ok(())
        },
    )?;
    host.func_wrap(
        "[method]resource1.take-borrow",
        |_, (a, b): (Resource<Resource1>, Resource<Resource1>)| {
            if a.owned() || b.owned() {
                fail!("resource1.take-borrow: an argument is owned, not borrowed");
            }
            Ok(())
        },
    )?;
    host.func_wrap(
        "[method]resource1.take-own",
        |_, (a, b): (Resource<Resource1>, Resource<Resource1>)| {
            if a.owned() || !b.owned() {
                fail!("resource1.take-own: expected a borrowed `self` and an owned argument");
            }
            Ok(())
        },
    )?;
    Ok(())
}

/// The asynchronous host functions (see the module's docs); they need the engine's
/// concurrency support. Errors: a name is already defined and shadowing is off.
fn link_async(linker: &mut Linker<()>) -> Result<()> {
    linker
        .root()
        .func_wrap_concurrent("host-echo-u32", |_, (v,): (u32,)| {
            Box::pin(async move { Ok((v,)) })
        })?;
    let mut host = linker.instance("host")?;
    host.func_wrap_concurrent("never-return", |_, (): ()| {
        Box::pin(std::future::pending::<wasmtime::Result<()>>())
    })?;
    host.func_wrap_concurrent(
        "[method]resource1.never-return",
        |_, (_,): (Resource<Resource1>,)| Box::pin(std::future::pending::<wasmtime::Result<()>>()),
    )?;
    host.func_wrap_concurrent("return-two-slowly", |_, (): ()| {
        Box::pin(async move {
            yield_once().await;
            Ok((2u32,))
        })
    })?;
    echo_slowly::<u32>(&mut host, "echo-slowly")?;
    echo_slowly::<i8>(&mut host, "echo-slowly-s8")?;
    echo_slowly::<u64>(&mut host, "echo-slowly-u64")?;
    echo_slowly::<f64>(&mut host, "echo-slowly-f64")?;
    echo_slowly::<String>(&mut host, "echo-string-slowly")?;
    host.func_wrap_concurrent("pair-slowly", |_, (a, b): (u32, u64)| {
        Box::pin(async move {
            yield_once().await;
            Ok(((a, b),))
        })
    })?;
    host.func_wrap_concurrent(
        "[method]resource1.rep-slowly",
        |_, (this,): (Resource<Resource1>,)| {
            Box::pin(async move {
                if this.owned() {
                    fail!("resource1.rep-slowly: `self` is owned, not borrowed");
                }
                yield_once().await;
                Ok((this.rep(),))
            })
        },
    )?;
    host.func_wrap_concurrent(
        "sum5-slowly",
        |_, (a, b, c, d, e): (u32, u32, u32, u32, u32)| {
            Box::pin(async move {
                yield_once().await;
                Ok((a
                    .wrapping_add(b)
                    .wrapping_add(c)
                    .wrapping_add(d)
                    .wrapping_add(e),))
            })
        },
    )?;
    host.func_wrap_concurrent(
        "mix-slowly",
        |_, (a, b, c, d, e, f): (u8, u64, String, i16, f32, bool)| {
            Box::pin(async move {
                yield_once().await;
                Ok((u64::from(a)
                    .wrapping_add(b)
                    .wrapping_add(1000 * c.len() as u64)
                    .wrapping_add(i64::from(d) as u64)
                    .wrapping_add((100.0 * f64::from(e)) as i64 as u64)
                    .wrapping_add(7 * u64::from(f)),))
            })
        },
    )?;
    for (name, slow, once) in [
        ("consume-stream", false, false),
        ("consume-stream-slowly", true, false),
        ("consume-stream-once", false, true),
    ] {
        host.func_wrap_concurrent(name, move |accessor, (s,): (StreamReader<u8>,)| {
            let (tx, rx) = futures::channel::oneshot::channel();
            let piped = accessor.with(|mut store| {
                s.pipe(
                    &mut store,
                    Summer {
                        sum: 0,
                        len: 0,
                        slow,
                        once,
                        yielded: false,
                        done: Some(tx),
                    },
                )
            });
            Box::pin(async move {
                piped?;
                let (sum, len) = rx.await.unwrap_or((0, 0));
                Ok(((len << 32) | (sum & 0xffff_ffff),))
            })
        })?;
    }
    host.func_wrap_concurrent(
        "produce-stream",
        |accessor, (n, chunk, slow): (u32, u32, bool)| {
            let data = (0..n).map(|i| (3 * i + 1) as u8).collect();
            let reader = accessor.with(|mut store| {
                StreamReader::new(
                    &mut store,
                    Dripper {
                        data,
                        chunk: chunk.max(1) as usize,
                        slow,
                        yielded: false,
                    },
                )
            });
            Box::pin(async move { Ok((reader?,)) })
        },
    )?;
    host.func_wrap_concurrent("future-to-host", |accessor, (f,): (FutureReader<u32>,)| {
        let (tx, rx) = futures::channel::oneshot::channel();
        let piped = accessor.with(|mut store| f.pipe(&mut store, Taker { done: Some(tx) }));
        Box::pin(async move {
            piped?;
            let v: u32 = rx.await.unwrap_or(0);
            Ok((v.wrapping_add(1),))
        })
    })?;
    host.func_wrap_concurrent("future-from-host", |accessor, (v, slow): (u32, bool)| {
        let reader = accessor.with(|mut store| {
            FutureReader::new(&mut store, async move {
                if slow {
                    yield_once().await;
                }
                Ok::<u32, wasmtime::Error>(v.wrapping_mul(2))
            })
        });
        Box::pin(async move { Ok((reader?,)) })
    })?;
    host.func_wrap_concurrent("future-never", |accessor, (): ()| {
        let reader = accessor.with(|mut store| {
            FutureReader::new(&mut store, std::future::pending::<wasmtime::Result<u32>>())
        });
        Box::pin(async move { Ok((reader?,)) })
    })?;
    host.func_wrap_concurrent("result-from-host", |accessor, (v,): (u32,)| {
        let value: Result<u32, u8> = if v % 2 == 0 { Ok(v) } else { Err(v as u8) };
        let reader = accessor.with(|mut store| {
            FutureReader::new(&mut store, async move {
                yield_once().await;
                Ok::<_, wasmtime::Error>(value)
            })
        });
        Box::pin(async move { Ok((reader?,)) })
    })?;
    Ok(())
}

/// `host.future-to-host`'s reader: the value, sent on.
struct Taker {
    done: Option<futures::channel::oneshot::Sender<u32>>,
}

impl<D> FutureConsumer<D> for Taker {
    type Item = u32;

    fn poll_consume(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        mut store: StoreContextMut<D>,
        mut source: Source<'_, u32>,
        _finish: bool,
    ) -> Poll<wasmtime::Result<()>> {
        let mut value = None;
        source.read(&mut store, &mut value)?;
        if let (Some(v), Some(done)) = (value, self.get_mut().done.take()) {
            let _ = done.send(v);
        }
        Poll::Ready(Ok(()))
    }
}

/// `host.produce-stream`'s writer: `data` given `chunk` bytes at a time, then the stream
/// ends.
struct Dripper {
    data: Vec<u8>,
    chunk: usize,
    /// Whether each read is answered only after one `Pending` (`yielded` says it was given).
    slow: bool,
    yielded: bool,
}

impl<D> StreamProducer<D> for Dripper {
    type Item = u8;
    type Buffer = VecBuffer<u8>;

    fn poll_produce<'a>(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        _store: StoreContextMut<'a, D>,
        mut destination: Destination<'a, u8, VecBuffer<u8>>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let me = self.get_mut();
        if me.data.is_empty() {
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        if me.slow && !me.yielded {
            if finish {
                return Poll::Ready(Ok(StreamResult::Cancelled));
            }
            me.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        me.yielded = false;
        let rest = me.data.split_off(me.chunk.min(me.data.len()));
        let head = std::mem::replace(&mut me.data, rest);
        destination.set_buffer(head.into());
        Poll::Ready(Ok(StreamResult::Completed))
    }
}

/// `host.consume-stream`'s reader: every byte written is added up, and the total sent when
/// the stream is gone (its writer dropped it).
struct Summer {
    sum: u64,
    len: u64,
    /// Whether each write is taken only after one `Pending` (`yielded` says it was given).
    slow: bool,
    /// Whether the stream is dropped after the first write.
    once: bool,
    yielded: bool,
    done: Option<futures::channel::oneshot::Sender<(u64, u64)>>,
}

impl<D> StreamConsumer<D> for Summer {
    type Item = u8;

    fn poll_consume(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        mut store: StoreContextMut<D>,
        mut source: Source<'_, u8>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let me = self.get_mut();
        if me.slow && !me.yielded {
            if finish {
                return Poll::Ready(Ok(StreamResult::Cancelled));
            }
            me.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        me.yielded = false;
        let mut buffer = Vec::with_capacity(source.remaining(&mut store));
        source.read(&mut store, &mut buffer)?;
        me.sum += buffer.iter().map(|&b| u64::from(b)).sum::<u64>();
        me.len += buffer.len() as u64;
        Poll::Ready(Ok(match me.once {
            true => StreamResult::Dropped,
            false => StreamResult::Completed,
        }))
    }
}

impl Drop for Summer {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send((self.sum, self.len));
        }
    }
}

/// Defines `name` in `host`: an asynchronous function that returns its argument of type `T`
/// after yielding once to the executor.
fn echo_slowly<T>(host: &mut LinkerInstance<'_, ()>, name: &str) -> Result<()>
where
    T: ComponentType + Lift + Lower + Send + Sync + 'static,
{
    host.func_wrap_concurrent(name, |_, (v,): (T,)| {
        Box::pin(async move {
            yield_once().await;
            Ok((v,))
        })
    })?;
    Ok(())
}

/// A future that is pending once (waking its task at once) and then ready: what a yield to
/// the executor comes to.
fn yield_once() -> impl Future<Output = ()> + Send {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}
