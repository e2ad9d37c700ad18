//! Items of an analysis worked on in parallel on rayon's pool, with their
//! progress reported on the calling thread and the results in the items'
//! order. Memory is that of one item per worker, and the results do not
//! depend on the number of threads (each item's work is the same whichever
//! thread runs it).

use rayon::prelude::*;

use super::Observer;

/// `work` on every item; each item's `label` reaches `observer.item` as its
/// work starts and `observer.advance(1)` as it ends.
pub fn per_item<T: Sync, R: Send>(
    items: &[T],
    observer: &mut dyn Observer,
    label: impl Fn(&T) -> String + Sync,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    enum Event {
        Started(String),
        Done,
    }
    let (sender, events) = std::sync::mpsc::channel::<Event>();
    let (label, work) = (&label, &work);
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            items
                .par_iter()
                .map_with(sender, |sender, item| {
                    // the receiver outlives the work: a send cannot fail
                    let _ = sender.send(Event::Started(label(item)));
                    let result = work(item);
                    let _ = sender.send(Event::Done);
                    result
                })
                .collect::<Vec<R>>()
        });
        for event in events {
            match event {
                Event::Started(item) => observer.item(&item),
                Event::Done => observer.advance(1),
            }
        }
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Log {
        items: Vec<String>,
        done: u64,
    }

    impl Observer for Log {
        fn item(&mut self, label: &str) {
            self.items.push(label.to_string());
        }
        fn advance(&mut self, n: u64) {
            self.done += n;
        }
    }

    #[test]
    fn results_keep_the_items_order_and_every_item_is_reported() {
        let items: Vec<u64> = (0..100).collect();
        let mut log = Log::default();
        let squares = per_item(&items, &mut log, |i| i.to_string(), |i| i * i);
        assert_eq!(squares, items.iter().map(|i| i * i).collect::<Vec<_>>());
        assert_eq!(log.done, 100);
        let mut seen = log.items.clone();
        seen.sort_by_key(|s| s.parse::<u64>().unwrap());
        assert_eq!(seen, items.iter().map(u64::to_string).collect::<Vec<_>>());
    }
}
