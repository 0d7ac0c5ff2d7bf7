//! The test broker (Tansu from scripts/test.sh, or any Kafka in DOZVON_TEST_BROKERS) answers a
//! produce and a consume through rdkafka: the harness the service's integration tests build on.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};

fn brokers() -> String {
    std::env::var("DOZVON_TEST_BROKERS")
        .expect("DOZVON_TEST_BROKERS must name a broker; run the suite with scripts/test.sh")
}

#[tokio::test]
async fn a_produced_record_is_consumed_back() {
    let brokers = brokers();
    let topic = format!("dozvon-smoke-{}", std::process::id());
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .expect("admin client");
    let created = admin
        .create_topics(
            &[NewTopic::new(&topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .expect("create topics request");
    for result in created {
        result.expect("topic created");
    }
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("message.timeout.ms", "10000")
        .create()
        .expect("producer");
    let payload = br#"{"call_id":"smoke"}"#;
    producer
        .send(
            FutureRecord::to(&topic).key("L1").payload(&payload[..]),
            Duration::from_secs(10),
        )
        .await
        .expect("delivered");

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", format!("{topic}-group"))
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("fetch.wait.max.ms", "5")
        .create()
        .expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no record within 60 s"
        );
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                assert_eq!(message.key(), Some(&b"L1"[..]));
                assert_eq!(message.payload(), Some(&payload[..]));
                break;
            }
            Some(Err(error)) => eprintln!("transient consumer error: {error}"),
            None => {}
        }
    }
}
