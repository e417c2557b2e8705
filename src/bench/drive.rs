//! The closed-loop driver: `in_flight` workers each send one call at a time to the server
//! under test over loopback gRPC, for a warm-up and then a measured window. A call counts, and
//! its latency goes into an HDR histogram, when it finishes inside the window: counting only
//! calls that also started inside it would leave out up to one call per worker, which matters
//! when a call takes about as long as the window (signed writes at 16 or more in flight in
//! `--quick`'s one-second windows on a slow disk counted none).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tonic::transport::Channel;

use super::generate::{self, PER_SKILL};
use super::report::cpu_time;
use crate::api::convert::timestamp;
use crate::api::write::seal;
use crate::domain::Timestamp;
use crate::domain::keys::did_key;
use crate::pb;
use crate::pb::catalogue_service_client::CatalogueServiceClient;
use crate::pb::key_service_client::KeyServiceClient;
use crate::pb::provider_service_client::ProviderServiceClient;
use crate::pb::trust_service_client::TrustServiceClient;
use tonic_health::pb::health_client::HealthClient;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Baseline,
    CheckIssuer,
    GetQualification,
    SearchQualifications,
    VerifyCredential,
    SignedWriteMix,
}

impl Scenario {
    pub const ALL: [Scenario; 6] = [
        Scenario::Baseline,
        Scenario::CheckIssuer,
        Scenario::GetQualification,
        Scenario::SearchQualifications,
        Scenario::VerifyCredential,
        Scenario::SignedWriteMix,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Baseline => "baseline",
            Scenario::CheckIssuer => "check_issuer",
            Scenario::GetQualification => "get_qualification",
            Scenario::SearchQualifications => "search_qualifications",
            Scenario::VerifyCredential => "verify_credential",
            Scenario::SignedWriteMix => "signed_write_mix",
        }
    }
}

/// What the background writes beside a scenario do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackgroundKind {
    /// Publish, then withdraw, a micro-credential (the signed-write mix).
    Qualifications,
    /// Add a new key to a random provider, signed by one of its keys.
    Keys,
}

impl BackgroundKind {
    pub fn name(self) -> &'static str {
        match self {
            BackgroundKind::Qualifications => "qualifications",
            BackgroundKind::Keys => "keys",
        }
    }
}

/// What the driver needs to know about the synthetic registry.
pub struct Dataset {
    pub providers: usize,
    pub per_provider: usize,
    pub skills: usize,
    pub accreditation_ids: Vec<String>,
    pub qualification_ids: Vec<String>,
    /// Compact JWS credentials by generated providers.
    pub credentials: Vec<String>,
    /// Distinguishes this run's nonces.
    pub run: String,
    /// Nonces handed out by the signed-write mix, across every level of the run: each worker
    /// restarts at every level, so a per-worker count would repeat a nonce for the same signer.
    pub nonces: std::sync::atomic::AtomicU64,
}

/// How the nonces of the signed-write mix begin, which tells its writes from the generator's
/// in a kept registry's log.
pub const MIX_NONCE_PREFIX: &str = "mix-";

/// splitmix64: enough randomness for picking requests.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

fn random_time(rng: &mut Rng, from_year: i64, to_year: i64) -> Timestamp {
    // Years of 365.25 days from 1970.
    let year = 31_557_600;
    let start = (from_year - 1970) * year;
    let end = (to_year - 1970) * year;
    Timestamp::from_unix_seconds(start + (rng.next_u64() % (end - start) as u64) as i64)
}

/// A compact JWS (VC-JOSE, EdDSA, kid a did:key) by provider `i` for its qualification `j`.
pub fn credential(data: &Dataset, i: usize, j: usize, valid_from: Timestamp) -> String {
    let key = generate::provider_key(i);
    let header = serde_json::json!({
        "alg": "EdDSA",
        "kid": did_key(&key.verifying_key().to_bytes()),
        "typ": "vc+jwt",
    });
    let payload = serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": format!("urn:uuid:00000000-0000-4000-8000-{:012}", i * data.per_provider + j),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": generate::provider_did(i), "type": ["Profile"]},
        "validFrom": valid_from.to_rfc3339(),
        "credentialSubject": {
            "id": "did:example:learner",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": format!("urn:trust-registry:qualification:{}", data.qualification_ids[i * data.per_provider + j]),
                "type": ["Achievement"],
            },
        },
    });
    crate::domain::credential::sign_jws(&key, &header, &payload)
}

/// `count` credentials by random providers, valid from random times 2017-2025.
pub fn credentials(data: &Dataset, count: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| {
            let (i, j) = (rng.below(data.providers), rng.below(data.per_provider));
            credential(data, i, j, random_time(&mut rng, 2017, 2025))
        })
        .collect()
}

struct Clients {
    health: HealthClient<Channel>,
    catalogue: CatalogueServiceClient<Channel>,
    trust: TrustServiceClient<Channel>,
    providers: ProviderServiceClient<Channel>,
    keys: KeyServiceClient<Channel>,
}

impl Clients {
    /// The clients of every service a scenario calls, over one channel.
    fn new(channel: Channel) -> Self {
        Self {
            health: HealthClient::new(channel.clone()),
            catalogue: CatalogueServiceClient::new(channel.clone()),
            trust: TrustServiceClient::new(channel.clone()),
            providers: ProviderServiceClient::new(channel.clone()),
            keys: KeyServiceClient::new(channel),
        }
    }
}

/// A worker's signed-write state: the qualification it published last, to withdraw next.
struct WriteState {
    counter: u64,
    published: Option<(usize, String)>,
}

/// One call; `Ok(())` when the server answered without a gRPC error.
async fn call(
    scenario: Scenario,
    clients: &mut Clients,
    data: &Dataset,
    rng: &mut Rng,
    state: &mut WriteState,
) -> Result<(), tonic::Status> {
    match scenario {
        Scenario::Baseline => {
            clients
                .health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await?;
        }
        Scenario::CheckIssuer => {
            let i = rng.below(data.providers);
            let query = pb::IssuerQuery {
                issuer: Some(pb::issuer_query::Issuer::Did(generate::provider_did(i))),
                at: Some(timestamp(random_time(rng, 2014, 2027))),
                ..Default::default()
            };
            clients
                .trust
                .check_issuer(pb::CheckIssuerRequest { query: Some(query) })
                .await?;
        }
        Scenario::GetQualification => {
            let id = data.qualification_ids[rng.below(data.qualification_ids.len())].clone();
            clients
                .catalogue
                .get_qualification(pb::GetQualificationRequest { id })
                .await?;
        }
        Scenario::SearchQualifications => {
            let k = rng.below(data.skills);
            clients
                .catalogue
                .search_qualifications(pb::SearchQualificationsRequest {
                    page_size: PER_SKILL as i32,
                    skill_uri: generate::skill_uri(k),
                    ..Default::default()
                })
                .await?;
        }
        Scenario::VerifyCredential => {
            let credential = data.credentials[rng.below(data.credentials.len())].clone();
            clients
                .trust
                .verify_credential(pb::VerifyCredentialRequest {
                    credential,
                    format: pb::CredentialFormat::Jws.into(),
                    at: None,
                })
                .await?;
        }
        Scenario::SignedWriteMix => {
            state.counter += 1;
            let header = mix_header(data);
            match state.published.take() {
                None => {
                    let i = rng.below(data.providers);
                    let rpc = "/trustregistry.v1.ProviderService/PublishQualification";
                    let command = pb::PublishQualificationCommand {
                        header,
                        description: Some(generate::description(
                            i,
                            1_000_000 + state.counter as usize,
                            &data.accreditation_ids[i],
                            rng.below(data.skills),
                        )),
                    };
                    let envelope = seal(&generate::provider_key(i), rpc, &command);
                    let response = clients
                        .providers
                        .publish_qualification(pb::PublishQualificationRequest {
                            envelope: Some(envelope),
                        })
                        .await?
                        .into_inner();
                    if let Some(q) = response.qualification {
                        state.published = Some((i, q.id));
                    }
                }
                Some((i, qualification_id)) => {
                    let rpc = "/trustregistry.v1.ProviderService/WithdrawQualification";
                    let command = pb::WithdrawQualificationCommand {
                        header,
                        qualification_id,
                        withdrawn_at: None,
                        reason: "bench: signed write mix".into(),
                    };
                    let envelope = seal(&generate::provider_key(i), rpc, &command);
                    clients
                        .providers
                        .withdraw_qualification(pb::WithdrawQualificationRequest {
                            envelope: Some(envelope),
                        })
                        .await?;
                }
            }
        }
    }
    Ok(())
}

/// A signed write's header: issued now, with one of the mix's nonces.
fn mix_header(data: &Dataset) -> Option<pb::CommandHeader> {
    Some(pb::CommandHeader {
        issued_at: Some(timestamp(Timestamp::now())),
        nonce: format!(
            "{MIX_NONCE_PREFIX}{}-{:012}",
            data.run,
            data.nonces.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ),
    })
}

/// Adds a fresh key, valid from now, to a random provider, signed by the provider's key. The
/// key is drawn from the write's nonce, which no other write of this or another run shares.
async fn add_key(clients: &mut Clients, data: &Dataset, rng: &mut Rng) -> Result<(), tonic::Status> {
    use sha2::Digest as _;
    let i = rng.below(data.providers);
    let header = mix_header(data);
    let nonce = header.as_ref().map(|h| h.nonce.as_str()).unwrap_or_default();
    let secret: [u8; 32] = sha2::Sha256::digest(format!("bench key {nonce}")).into();
    let public_key = ed25519_dalek::SigningKey::from_bytes(&secret)
        .verifying_key()
        .to_bytes();
    let command = pb::AddKeyCommand {
        header,
        actor_id: String::new(),
        key: Some(pb::KeySpec {
            public_key: public_key.to_vec(),
            valid_from: Some(timestamp(Timestamp::now())),
            valid_until: None,
        }),
    };
    let envelope = seal(
        &generate::provider_key(i),
        "/trustregistry.v1.KeyService/AddKey",
        &command,
    );
    clients
        .keys
        .add_key(pb::AddKeyRequest {
            envelope: Some(envelope),
        })
        .await?;
    Ok(())
}

/// Asks CheckIssuer once about every provider (64 calls in flight), as a server that has been
/// answering verifiers for a while has: the trust-facts cache holds every issuer. The time taken.
pub async fn prime(channels: &[Channel], data: Arc<Dataset>) -> anyhow::Result<Duration> {
    const WORKERS: usize = 64;
    let started = Instant::now();
    let mut workers = Vec::with_capacity(WORKERS);
    for worker in 0..WORKERS {
        let mut trust = TrustServiceClient::new(channels[worker % channels.len()].clone());
        let providers = data.providers;
        workers.push(tokio::spawn(async move {
            for i in (worker..providers).step_by(WORKERS) {
                let query = pb::IssuerQuery {
                    issuer: Some(pb::issuer_query::Issuer::Did(generate::provider_did(i))),
                    ..Default::default()
                };
                trust
                    .check_issuer(pb::CheckIssuerRequest { query: Some(query) })
                    .await?;
            }
            Ok::<_, tonic::Status>(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(started.elapsed())
}

/// The result of one scenario at one in-flight level.
pub struct Measured {
    pub calls: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub window: Duration,
    pub cpu: Duration,
    /// CPU time of the bench's own process (the client) in the window.
    pub client_cpu: Duration,
    pub histogram: Histogram<u64>,
}

impl Measured {
    pub fn calls_per_s(&self) -> f64 {
        self.calls as f64 / self.window.as_secs_f64()
    }

    /// This and `other` as one measurement: their windows, calls, errors and CPU added up.
    pub fn merge(mut self, other: Measured) -> anyhow::Result<Measured> {
        self.histogram.add(&other.histogram)?;
        Ok(Measured {
            calls: self.calls + other.calls,
            errors: self.errors + other.errors,
            first_error: self.first_error.or(other.first_error),
            window: self.window + other.window,
            cpu: self.cpu + other.cpu,
            client_cpu: self.client_cpu + other.client_cpu,
            histogram: self.histogram,
        })
    }
}

/// What one measurement sends.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub scenario: Scenario,
    /// Workers, each with one call in flight.
    pub in_flight: usize,
    /// Signed writes a second sent beside them (open loop, from one more task), and what they
    /// do, if any.
    pub background_writes: Option<(f64, BackgroundKind)>,
}

/// Sends writes of `kind` at `per_second` over `channel` until `end`: how many failed, and the
/// first failure.
async fn background_writes(
    channel: Channel,
    data: Arc<Dataset>,
    (per_second, kind): (f64, BackgroundKind),
    end: Instant,
) -> (u64, Option<String>) {
    let mut clients = Clients::new(channel);
    let mut rng = Rng::new(0xB4C6 ^ data.nonces.load(std::sync::atomic::Ordering::Relaxed));
    let mut state = WriteState {
        counter: 0,
        published: None,
    };
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut errors, mut first_error) = (0, None);
    loop {
        ticks.tick().await;
        if Instant::now() >= end {
            break;
        }
        let sent = match kind {
            BackgroundKind::Qualifications => {
                call(
                    Scenario::SignedWriteMix,
                    &mut clients,
                    &data,
                    &mut rng,
                    &mut state,
                )
                .await
            }
            BackgroundKind::Keys => add_key(&mut clients, &data, &mut rng).await,
        };
        if let Err(status) = sent {
            errors += 1;
            first_error.get_or_insert_with(|| {
                format!("background write: {:?}: {}", status.code(), status.message())
            });
        }
    }
    (errors, first_error)
}

/// Runs `load` closed-loop over `channels`.
pub async fn measure(
    channels: &[Channel],
    data: Arc<Dataset>,
    load: Load,
    warmup: Duration,
    window: Duration,
    server_pid: u32,
) -> anyhow::Result<Measured> {
    let Load {
        scenario,
        in_flight,
        background_writes: writes_per_s,
    } = load;
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + window;
    let writer = writes_per_s
        .map(|writes| tokio::spawn(background_writes(channels[0].clone(), data.clone(), writes, end)));
    let mut workers = Vec::with_capacity(in_flight);
    for worker in 0..in_flight {
        let channel = channels[worker % channels.len()].clone();
        let data = data.clone();
        workers.push(tokio::spawn(async move {
            let mut clients = Clients::new(channel);
            let mut rng = Rng::new(0x5EED ^ ((worker as u64 + 1) << 20) ^ start.elapsed().as_nanos() as u64);
            let mut state = WriteState {
                counter: 0,
                published: None,
            };
            let mut histogram =
                Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds");
            let (mut calls, mut errors, mut first_error) = (0u64, 0u64, None);
            loop {
                let began = Instant::now();
                if began >= end {
                    break;
                }
                let result = call(scenario, &mut clients, &data, &mut rng, &mut state).await;
                let finished = Instant::now();
                if let Err(status) = result {
                    errors += 1;
                    first_error.get_or_insert_with(|| format!("{:?}: {}", status.code(), status.message()));
                }
                if finished > measure_from && finished <= end {
                    calls += 1;
                    histogram.saturating_record((finished - began).as_micros().max(1) as u64);
                }
            }
            (calls, errors, first_error, histogram)
        }));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_before = cpu_time(server_pid);
    let client_before = cpu_time(std::process::id());
    tokio::time::sleep_until(end.into()).await;
    let cpu_after = cpu_time(server_pid);
    let client_after = cpu_time(std::process::id());
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3)?;
    let (mut calls, mut errors, mut first_error) = (0, 0, None);
    for worker in workers {
        let (c, e, f, h) = worker.await?;
        calls += c;
        errors += e;
        if first_error.is_none() {
            first_error = f;
        }
        histogram.add(&h)?;
    }
    if let Some(writer) = writer {
        let (e, f) = writer.await?;
        errors += e;
        first_error = first_error.or(f);
    }
    Ok(Measured {
        calls,
        errors,
        first_error,
        window,
        cpu: cpu_after.saturating_sub(cpu_before),
        client_cpu: client_after.saturating_sub(client_before),
        histogram,
    })
}
