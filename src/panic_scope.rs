//! Panics contained to one piece of work. A dependency that panics on hostile input (a
//! URL in a bucket's task info, a reply it did not expect) must cost that task its
//! storage reading, not the whole run: inside [`contain`], or on a thread marked with
//! [`mark_thread`], the process-wide panic hook (`guard`) leaves the panic to the code
//! that catches it instead of ending the run. Imports only std.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static CONTAINED: Cell<usize> = const { Cell::new(0) };
}

/// Whether a panic on this thread is caught by the work it happens in.
pub fn is_contained() -> bool {
    CONTAINED.with(|c| c.get() > 0)
}

/// Marks this thread's panics as contained until the returned guard is dropped (for a
/// thread that runs only work whose panics are caught, such as an I/O runtime whose
/// futures are each wrapped in a catch).
pub fn mark_thread() -> Marked {
    CONTAINED.with(|c| c.set(c.get() + 1));
    Marked(())
}

/// See [`mark_thread`].
pub struct Marked(());

impl Drop for Marked {
    fn drop(&mut self) {
        CONTAINED.with(|c| c.set(c.get().saturating_sub(1)));
    }
}

/// Runs `work`; a panic inside it becomes `Err` with its message.
pub fn contain<R>(work: impl FnOnce() -> R) -> Result<R, String> {
    let _marked = mark_thread();
    catch_unwind(AssertUnwindSafe(work)).map_err(|payload| message(payload.as_ref()))
}

/// A panic payload's message.
pub fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contained_panic_is_a_value() {
        assert!(!is_contained());
        let caught = contain(|| -> u8 { panic!("bad endpoint") });
        assert_eq!(caught, Err("bad endpoint".to_string()));
        assert!(!is_contained(), "the mark ends with the work");
        assert_eq!(contain(|| 7), Ok(7));
    }
}
