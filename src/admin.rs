//! Kafka topic administration shared by the service, the publisher and the tests.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{Client, ClientContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// What the broker's metadata says about a topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopicState {
    /// The topic exists with this many partitions.
    Partitions(usize),
    /// The broker does not know the topic (or it has no partitions yet).
    Missing,
    /// The metadata could not be read, or names another error for the topic.
    Unreadable(String),
}

/// Looks `topic` up in the broker's metadata (one blocking request).
pub fn topic_state<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    timeout: Duration,
) -> TopicState {
    let metadata = match client.fetch_metadata(Some(topic), timeout) {
        Ok(metadata) => metadata,
        Err(error) => return TopicState::Unreadable(error.to_string()),
    };
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return TopicState::Missing;
    };
    match found.error() {
        None if found.partitions().is_empty() => TopicState::Missing,
        None => TopicState::Partitions(found.partitions().len()),
        Some(error) => match RDKafkaErrorCode::from(error) {
            RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => {
                TopicState::Missing
            }
            code => TopicState::Unreadable(code.to_string()),
        },
    }
}

/// Creates `topics` with `partitions` partitions each; topics that exist already are kept.
/// Returns the names created, or the first topic that failed with its error.
pub fn create_topics<C: ClientContext>(
    admin: &AdminClient<C>,
    topics: &[&str],
    partitions: i32,
    replication: i32,
    timeout: Duration,
) -> Result<Vec<String>, (String, KafkaError)> {
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(replication)))
        .collect();
    let options = AdminOptions::new()
        .operation_timeout(Some(timeout))
        .request_timeout(Some(timeout));
    let results = block_on(admin.create_topics(&new, &options))
        .map_err(|error| (topics.join(", "), error))?;
    let mut created = Vec::new();
    for result in results {
        match result {
            Ok(topic) => created.push(topic),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err((topic, KafkaError::AdminOp(code))),
        }
    }
    Ok(created)
}

/// Creates a compacted topic (`cleanup.policy=compact`: the latest record per key is kept)
/// unless it exists; `true` when it was created.
pub fn create_compacted_topic<C: ClientContext>(
    admin: &AdminClient<C>,
    topic: &str,
    partitions: i32,
    replication: i32,
    timeout: Duration,
) -> Result<bool, KafkaError> {
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication))
        .set("cleanup.policy", "compact");
    let options = AdminOptions::new()
        .operation_timeout(Some(timeout))
        .request_timeout(Some(timeout));
    let results = block_on(admin.create_topics([&new], &options))?;
    match results.into_iter().next() {
        Some(Ok(_)) => Ok(true),
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) | None => Ok(false),
        Some(Err((_, code))) => Err(KafkaError::AdminOp(code)),
    }
}

/// Runs a future to completion on the current thread. The admin client's futures are completed
/// by librdkafka's own threads, so no executor (and no tokio runtime, which would refuse to
/// nest inside a caller's) is needed.
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}
