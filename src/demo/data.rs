//! The fictional demo dataset loaded by `trust-registry serve --demo`.
//!
//! Every organisation, name, domain (`.example`), DID and register number here is invented.
//! External ids carry a `DEMO-` prefix so they cannot be taken for real DEQAR or register
//! entries, and the ESCO skill URIs use placeholder UUIDs (`de300000-0000-4000-8000-…`) that
//! name no real ESCO concept. Only the vocabularies are real: ISCED-F field URIs, the ELM
//! "Generic" credential type, and the seeded frameworks, whose EQF levels are read from the store.
//!
//! The data is deterministic: inside the dataset, parts are linked by ids minted from
//! `demo:<slug>` ([`demo_id`]); the registry mints the real ids when the dataset is loaded through
//! signed writes. Every instant is fixed, and each actor's key is [`demo_signing_key`] of its slug, so later signed writes can be
//! made as any demo actor. Provider `northbridge` rotated its key on 2024-09-01 to the key of
//! actor name `northbridge-2024`.

use std::collections::HashMap;

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use crate::domain::DomainError;
use crate::domain::enums::{
    AccreditationKind as AK, AssessmentType as AT, Decision as D, ParticipationForm as PF,
    ProviderKind as PK, RecognitionBodyKind as BK, RecognitionOutcome as RO, RecognitionPurpose as RP,
    RecognitionRoute as RR, Stackability as ST, *,
};
use crate::domain::ids::IdKind;
use crate::domain::model::*;
use crate::domain::time::Timestamp;
use crate::store::Store;

/// How many objects of each kind the demo loader wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSummary {
    pub qa_agencies: usize,
    pub recognition_bodies: usize,
    pub providers: usize,
    pub accreditations: usize,
    pub qualifications: usize,
    pub recognitions: usize,
}

/// The frameworks the dataset levels its qualifications in, read from the store.
pub async fn frameworks(store: &Store) -> Result<HashMap<String, Framework>, DomainError> {
    let mut frameworks = HashMap::new();
    for id in FRAMEWORK_IDS {
        let framework = store.framework(id).await?.ok_or_else(|| {
            DomainError::FailedPrecondition(format!(
                "the demo dataset needs framework {id}, which is not seeded"
            ))
        })?;
        frameworks.insert(id.to_string(), framework);
    }
    Ok(frameworks)
}

/// Every demo actor's signing key, by key id: agencies, bodies, providers, and the key
/// provider `northbridge` rotated to.
pub fn signing_keys() -> HashMap<String, SigningKey> {
    let slugs = AGENCIES
        .iter()
        .map(|row| row.0)
        .chain(BODIES.iter().map(|row| row.0))
        .chain(PROVIDERS.iter().map(|row| row.0))
        .chain(["northbridge-2024"]);
    slugs
        .map(|slug| {
            let key = demo_signing_key(slug);
            (crate::domain::keys::key_id(&key.verifying_key().to_bytes()), key)
        })
        .collect()
}

/// The deterministic demo signing key of a demo actor, for later signed writes: secret = SHA-256("trust-registry demo key\0" || actor_name).
pub fn demo_signing_key(actor_name: &str) -> SigningKey {
    let digest = Sha256::new()
        .chain_update(b"trust-registry demo key\0")
        .chain_update(actor_name.as_bytes())
        .finalize();
    let mut secret = [0u8; 32];
    secret.copy_from_slice(&digest);
    SigningKey::from_bytes(&secret)
}

/// The registry id of the demo object `slug` of a kind.
pub fn demo_id(kind: IdKind, slug: &str) -> String {
    kind.mint(format!("demo:{slug}").as_bytes())
}

// ---------------------------------------------------------------------------------------------
// Small builders

fn day(date: &str) -> Timestamp {
    Timestamp::parse_rfc3339(&format!("{date}T00:00:00Z")).expect("demo dates are valid")
}

fn opt_day(date: &str) -> Option<Timestamp> {
    (!date.is_empty()).then(|| day(date))
}

fn text(language: &str, value: &str) -> LocalizedString {
    LocalizedString {
        language: language.into(),
        value: value.into(),
    }
}

/// An English text, plus one in `lang` when `local` is given.
fn names(en: &str, lang: &str, local: &str) -> Vec<LocalizedString> {
    let mut out = vec![text("en", en)];
    if !local.is_empty() {
        out.push(text(lang, local));
    }
    out
}

fn ident(scheme: IdentifierScheme, value: &str, from: &str, until: &str) -> ExternalIdentifier {
    ExternalIdentifier {
        scheme,
        value: value.into(),
        valid_from: opt_day(from),
        valid_until: opt_day(until),
    }
}

/// A register id (DEQAR-like when it says so, else a national register), the did:web and the domain.
fn identifiers(register: &str, domain: &str) -> Vec<ExternalIdentifier> {
    let mut out = Vec::new();
    if !register.is_empty() {
        let scheme = if register.contains("DEQAR") {
            IdentifierScheme::Deqar
        } else {
            IdentifierScheme::NationalRegister
        };
        out.push(ident(scheme, register, "", ""));
    }
    out.push(ident(IdentifierScheme::Did, &format!("did:web:{domain}"), "", ""));
    out.push(ident(IdentifierScheme::WebsiteDomain, domain, "", ""));
    out
}

fn actor_key(actor_name: &str, from: Timestamp) -> ActorKey {
    ActorKey::new(demo_signing_key(actor_name).verifying_key().to_bytes(), from)
}

fn isced(code: &str) -> String {
    format!("http://data.europa.eu/snb/isced-f/{code}")
}

/// A placeholder ESCO skill URI of the shared pool (not a real ESCO concept).
fn skill_uri(index: usize) -> String {
    format!(
        "http://data.europa.eu/esco/skill/de300000-0000-4000-8000-{:012}",
        index + 1
    )
}

/// The ELM credential type "Generic".
const GENERIC_CREDENTIAL: &str = "http://data.europa.eu/snb/credential/e34929035b";

const FRAMEWORK_IDS: [&str; 4] = ["eqf", "ie-nfq", "ge-nqf", "nz-nzqcf"];

/// The framework a provider's qualifications are levelled in.
fn framework_for(country: &str) -> &'static str {
    match country {
        "IE" => "ie-nfq",
        "GE" => "ge-nqf",
        "NZ" => "nz-nzqcf",
        _ => "eqf",
    }
}

fn grading_scheme(country: &str) -> &'static str {
    match country {
        "IE" => "Pass / Merit / Distinction",
        "GE" => "100-point scale, pass from 51",
        "NZ" => "Achieved / Achieved with Merit / Achieved with Excellence",
        "NL" => "1-10 scale, pass from 5.5",
        "DE" => "1.0-5.0 scale, pass up to 4.0",
        _ => "0-20 scale, pass from 10",
    }
}

// ---------------------------------------------------------------------------------------------
// Actors

const IE_QA: &str = "ardmore-quality-council";
const GE_QA: &str = "kartli-quality-centre";
const NZ_QA: &str = "kowhai-qualifications-authority";
const NL_QA: &str = "lowlands-accreditation-organisation";
const DE_QA: &str = "rheinauen-certification-agency";

/// (slug, country, operating countries, English name, language, local name, domain, register id, admitted, retired)
type AgencyRow = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);
const AGENCIES: &[AgencyRow] = &[
    (
        IE_QA,
        "IE",
        &["IE"],
        "Ardmore Quality Council",
        "ga",
        "Comhairle Cáilíochta Ard Mhór",
        "ardmore-qc.example",
        "DEMO-DEQARAGEN-0001",
        "2018-01-15",
        "",
    ),
    (
        GE_QA,
        "GE",
        &["GE"],
        "Kartli Centre for Education Quality",
        "ka",
        "ქართლის განათლების ხარისხის ცენტრი",
        "kartli-quality.example",
        "DEMO-DEQARAGEN-0002",
        "2018-01-15",
        "",
    ),
    (
        NZ_QA,
        "NZ",
        &["NZ"],
        "Kōwhai Qualifications Authority",
        "mi",
        "Te Mana Tohu Mātauranga o Kōwhai",
        "kowhai-qa.example",
        "DEMO-NZ-REG-0003",
        "2018-01-15",
        "",
    ),
    (
        NL_QA,
        "NL",
        &["NL", "BE", "DE", "FR"],
        "Lowlands Accreditation Organisation",
        "nl",
        "Accreditatieorganisatie Laaglanden",
        "lowlands-accreditation.example",
        "DEMO-DEQARAGEN-0004",
        "2018-01-15",
        "",
    ),
    (
        DE_QA,
        "DE",
        &["DE", "AT"],
        "Rheinauen Certification Agency",
        "de",
        "Zertifizierungsagentur Rheinauen",
        "rheinauen-cert.example",
        "DEMO-DEQARAGEN-0005",
        "2019-01-01",
        "2024-12-31",
    ),
];

fn agency_row(slug: &str) -> &'static AgencyRow {
    AGENCIES
        .iter()
        .find(|row| row.0 == slug)
        .expect("demo agency exists")
}

/// The QA agencies, each with one key valid from its admission. Rheinauen retired on 2024-12-31.
pub fn qa_agencies() -> Vec<(QaAgency, Vec<ActorKey>)> {
    AGENCIES
        .iter()
        .map(
            |&(slug, country, operating, en, lang, local, domain, register, admitted, retired)| {
                let agency = QaAgency {
                    id: demo_id(IdKind::QaAgency, slug),
                    names: names(en, lang, local),
                    country: country.into(),
                    operating_countries: operating.iter().map(|c| c.to_string()).collect(),
                    identifiers: identifiers(register, domain),
                    website: format!("https://{domain}"),
                    admitted_at: day(admitted),
                    retired_at: opt_day(retired),
                };
                (agency, vec![actor_key(slug, day(admitted))])
            },
        )
        .collect()
}

/// (slug, country, kind, English name, language, local name, domain, admitted)
type BodyRow = (
    &'static str,
    &'static str,
    BK,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);
const BODIES: &[BodyRow] = &[
    (
        "lowlands-recognition-centre",
        "NL",
        BK::EnicNaric,
        "Lowlands Centre for Academic Recognition",
        "nl",
        "Centrum voor Academische Erkenning Laaglanden",
        "lowlands-recognition.example",
        "2021-01-04",
    ),
    (
        "glenmore-admissions",
        "IE",
        BK::HigherEducationInstitution,
        "University of Glenmore, Admissions Office",
        "ga",
        "Ollscoil Ghleann Mór, Oifig Iontrála",
        "glenmore.example",
        "2021-01-04",
    ),
    (
        "southern-cross-accountants",
        "NZ",
        BK::ProfessionalBody,
        "Southern Cross Institute of Accountants",
        "",
        "",
        "southern-cross-accountants.example",
        "2021-06-01",
    ),
];

/// The recognition bodies, each with one key valid from its admission.
pub fn recognition_bodies() -> Vec<(RecognitionBody, Vec<ActorKey>)> {
    BODIES
        .iter()
        .map(|&(slug, country, kind, en, lang, local, domain, admitted)| {
            let body = RecognitionBody {
                id: demo_id(IdKind::RecognitionBody, slug),
                names: names(en, lang, local),
                country: country.into(),
                kind,
                identifiers: identifiers("", domain),
                website: format!("https://{domain}"),
                admitted_at: day(admitted),
                retired_at: None,
            };
            (body, vec![actor_key(slug, day(admitted))])
        })
        .collect()
}

/// (slug, country, kind, English name, language, local name, domain, register id, registering agency, registered)
type ProviderRow = (
    &'static str,
    &'static str,
    PK,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);
const PROVIDERS: &[ProviderRow] = &[
    (
        "northbridge",
        "IE",
        PK::HigherEducation,
        "Northbridge Institute of Technology",
        "ga",
        "Institiúid Teicneolaíochta an Droichid Thuaidh",
        "northbridge.example",
        "DEMO-DEQARINST-0001",
        IE_QA,
        "2021-01-15",
    ),
    (
        "ballykeel",
        "IE",
        PK::VocationalEducation,
        "Ballykeel College of Further Education",
        "ga",
        "Coláiste Breisoideachais Bhaile Caol",
        "ballykeel.example",
        "DEMO-IE-REG-0002",
        IE_QA,
        "2021-02-01",
    ),
    (
        "inishfall",
        "IE",
        PK::NonFormal,
        "Inishfall Digital Skills Network",
        "ga",
        "Líonra Scileanna Digiteacha Inis Fáil",
        "inishfall.example",
        "DEMO-IE-REG-0003",
        IE_QA,
        "2021-03-01",
    ),
    (
        "learnwell",
        "IE",
        PK::OnlinePlatform,
        "Learnwell Online",
        "",
        "",
        "learnwell.example",
        "DEMO-IE-REG-0004",
        IE_QA,
        "2021-03-01",
    ),
    (
        "mtkvari",
        "GE",
        PK::HigherEducation,
        "Mtkvari State University",
        "ka",
        "მტკვრის სახელმწიფო უნივერსიტეტი",
        "mtkvari-university.example",
        "DEMO-DEQARINST-0005",
        GE_QA,
        "2021-01-20",
    ),
    (
        "kolkheti",
        "GE",
        PK::VocationalEducation,
        "Kolkheti Vocational College",
        "ka",
        "კოლხეთის პროფესიული კოლეჯი",
        "kolkheti-college.example",
        "DEMO-GE-REG-0006",
        GE_QA,
        "2021-01-20",
    ),
    (
        "tbilisi-code-factory",
        "GE",
        PK::Company,
        "Tbilisi Code Factory LLC",
        "ka",
        "თბილისის კოდის ფაბრიკა",
        "tbilisi-code-factory.example",
        "DEMO-GE-REG-0007",
        GE_QA,
        "2021-05-10",
    ),
    (
        "caucasus-assessment",
        "GE",
        PK::AssessmentCentre,
        "Caucasus Assessment Centre",
        "ka",
        "კავკასიის შეფასების ცენტრი",
        "caucasus-assessment.example",
        "DEMO-GE-REG-0008",
        GE_QA,
        "2021-05-10",
    ),
    (
        "kauri-coast",
        "NZ",
        PK::HigherEducation,
        "Kauri Coast University",
        "mi",
        "Te Whare Wānanga o Tai Kauri",
        "kauri-coast.example",
        "DEMO-NZ-REG-0009",
        NZ_QA,
        "2021-02-15",
    ),
    (
        "harbourview",
        "NZ",
        PK::VocationalEducation,
        "Harbourview Polytechnic",
        "mi",
        "Te Kura Matatini o Tirohanga Whanga",
        "harbourview.example",
        "DEMO-NZ-REG-0010",
        NZ_QA,
        "2021-02-15",
    ),
    (
        "totara-skills",
        "NZ",
        PK::AwardingBody,
        "Tōtara Skills Awarding Body",
        "mi",
        "Te Poari Tohu Pūkenga o Tōtara",
        "totara-skills.example",
        "DEMO-NZ-REG-0011",
        NZ_QA,
        "2021-02-15",
    ),
    (
        "fernleaf",
        "NZ",
        PK::NonFormal,
        "Fernleaf Community Learning Trust",
        "mi",
        "Te Tarahiti Ako Hapori o Rau Ponga",
        "fernleaf.example",
        "DEMO-NZ-REG-0012",
        NZ_QA,
        "2021-07-01",
    ),
    (
        "polder",
        "NL",
        PK::HigherEducation,
        "Polder University of Applied Sciences",
        "nl",
        "Hogeschool Polder",
        "hogeschool-polder.example",
        "DEMO-DEQARINST-0013",
        NL_QA,
        "2021-01-11",
    ),
    (
        "tulpenveld",
        "NL",
        PK::Company,
        "Tulpenveld Data Academy B.V.",
        "nl",
        "Tulpenveld Data Academie B.V.",
        "tulpenveld.example",
        "DEMO-NL-REG-0014",
        NL_QA,
        "2021-09-01",
    ),
    (
        "open-learning-lowlands",
        "NL",
        PK::OnlinePlatform,
        "Open Learning Lowlands",
        "nl",
        "Open Leren Laaglanden",
        "open-learning-lowlands.example",
        "DEMO-NL-REG-0015",
        NL_QA,
        "2021-09-01",
    ),
    (
        "lindenau",
        "DE",
        PK::HigherEducation,
        "Lindenau University of Applied Sciences",
        "de",
        "Hochschule Lindenau",
        "hs-lindenau.example",
        "DEMO-DEQARINST-0016",
        NL_QA,
        "2021-01-11",
    ),
    (
        "eichwald",
        "DE",
        PK::VocationalEducation,
        "Eichwald Vocational College",
        "de",
        "Berufskolleg Eichwald",
        "bk-eichwald.example",
        "DEMO-DE-REG-0017",
        NL_QA,
        "2021-04-01",
    ),
    (
        "nordlicht",
        "DE",
        PK::AssessmentCentre,
        "Nordlicht Certification Centre",
        "de",
        "Zertifizierungsstelle Nordlicht",
        "nordlicht-cert.example",
        "DEMO-DE-REG-0018",
        DE_QA,
        "2021-04-01",
    ),
    (
        "belcombe",
        "FR",
        PK::HigherEducation,
        "University of Belcombe",
        "fr",
        "Université de Belcombe",
        "univ-belcombe.example",
        "DEMO-DEQARINST-0019",
        NL_QA,
        "2021-01-11",
    ),
    (
        "clairval-crafts",
        "FR",
        PK::AwardingBody,
        "Clairval Chamber of Trades and Crafts",
        "fr",
        "Chambre de métiers et de l'artisanat de Clairval",
        "cma-clairval.example",
        "DEMO-FR-REG-0020",
        NL_QA,
        "2021-06-01",
    ),
];

fn provider_row(slug: &str) -> &'static ProviderRow {
    PROVIDERS
        .iter()
        .find(|row| row.0 == slug)
        .expect("demo provider exists")
}

/// The providers with their keys. `northbridge` moved from `nit-northbridge.example` to
/// `northbridge.example` on 2023-01-01 and rotated its key on 2024-09-01.
pub fn providers() -> Vec<(Provider, Vec<ActorKey>)> {
    PROVIDERS
        .iter()
        .map(
            |&(slug, country, kind, en, lang, local, domain, register, agency, registered)| {
                let mut provider = Provider {
                    id: demo_id(IdKind::Provider, slug),
                    names: names(en, lang, local),
                    country: country.into(),
                    kind,
                    identifiers: identifiers(register, domain),
                    website: format!("https://{domain}"),
                    registered_by: demo_id(IdKind::QaAgency, agency),
                    registered_at: day(registered),
                };
                let mut keys = vec![actor_key(slug, day(registered))];
                if slug == "northbridge" {
                    for identifier in &mut provider.identifiers[1..] {
                        identifier.valid_from = Some(day("2023-01-01"));
                    }
                    provider.identifiers.push(ident(
                        IdentifierScheme::Did,
                        "did:web:nit-northbridge.example",
                        "",
                        "2023-01-01",
                    ));
                    provider.identifiers.push(ident(
                        IdentifierScheme::WebsiteDomain,
                        "nit-northbridge.example",
                        "",
                        "2023-01-01",
                    ));
                    keys[0].valid_until = Some(day("2024-09-01"));
                    keys.push(actor_key("northbridge-2024", day("2024-09-01")));
                }
                (provider, keys)
            },
        )
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Accreditations

/// The shape of an accreditation's status history.
#[derive(Clone, Copy)]
enum History {
    /// Granted from `valid_from`, open.
    Open,
    /// Granted from `valid_from`, suspended 2024-03-01, reinstated 2024-06-01.
    SuspendedThenReinstated,
    /// Granted from `valid_from`, withdrawn from the date, open.
    Withdrawn(&'static str),
    /// A negative decision: never in force, so no periods.
    Never,
}

/// (slug, provider, agency, kind, decision, scope EQF levels, scope ISCED-F codes, generic credential type in scope, valid from, valid until, history, conditions)
type AccreditationRow = (
    &'static str,
    &'static str,
    &'static str,
    AK,
    D,
    &'static [u8],
    &'static [&'static str],
    bool,
    &'static str,
    &'static str,
    History,
    &'static str,
);
const ACCREDITATIONS: &[AccreditationRow] = &[
    (
        "northbridge-institutional",
        "northbridge",
        IE_QA,
        AK::InstitutionalReview,
        D::Positive,
        &[5, 6, 7],
        &[],
        true,
        "2021-09-01",
        "2028-08-31",
        History::Open,
        "",
    ),
    (
        "northbridge-nursing",
        "northbridge",
        IE_QA,
        AK::ProgrammeAccreditation,
        D::PositiveWithConditions,
        &[6],
        &["0913"],
        true,
        "2023-01-15",
        "2029-01-14",
        History::Open,
        "Raise supervised clinical placement to 120 hours per micro-credential and report progress to the agency by 2025-09-01.",
    ),
    // No stated end: the registry applies DEQAR's six-year rule.
    (
        "ballykeel-licence",
        "ballykeel",
        IE_QA,
        AK::Licensing,
        D::Positive,
        &[3, 4, 5],
        &["0715", "1013", "0411"],
        true,
        "2022-09-01",
        "",
        History::Open,
        "",
    ),
    (
        "inishfall-iso21001",
        "inishfall",
        IE_QA,
        AK::Iso21001Certification,
        D::Positive,
        &[],
        &["0611", "0613"],
        false,
        "2022-01-01",
        "2028-12-31",
        History::SuspendedThenReinstated,
        "",
    ),
    (
        "learnwell-platform",
        "learnwell",
        IE_QA,
        AK::PlatformCertification,
        D::Positive,
        &[4, 5, 6],
        &["0613", "0414", "0413"],
        true,
        "2024-03-01",
        "2029-02-28",
        History::Open,
        "",
    ),
    (
        "mtkvari-authorisation",
        "mtkvari",
        GE_QA,
        AK::InstitutionalReview,
        D::Positive,
        &[],
        &[],
        true,
        "2021-10-01",
        "2028-09-30",
        History::Open,
        "",
    ),
    (
        "mtkvari-architecture",
        "mtkvari",
        GE_QA,
        AK::ProgrammeAccreditation,
        D::Positive,
        &[],
        &["0731"],
        true,
        "2022-05-01",
        "2029-04-30",
        History::Open,
        "",
    ),
    // Expired: Kolkheti's licence ended and its renewal was refused.
    (
        "kolkheti-licence-2018",
        "kolkheti",
        GE_QA,
        AK::Licensing,
        D::Positive,
        &[],
        &["0715", "1013"],
        false,
        "2018-07-01",
        "2024-06-30",
        History::Open,
        "",
    ),
    (
        "kolkheti-licence-2024",
        "kolkheti",
        GE_QA,
        AK::Licensing,
        D::Negative,
        &[],
        &["0715", "1013"],
        false,
        "2024-07-01",
        "",
        History::Never,
        "",
    ),
    (
        "tbilisi-code-factory-iso21001",
        "tbilisi-code-factory",
        GE_QA,
        AK::Iso21001Certification,
        D::Positive,
        &[],
        &["0613", "0612"],
        false,
        "2024-02-01",
        "2030-01-31",
        History::Open,
        "",
    ),
    (
        "caucasus-assessment-iso17024",
        "caucasus-assessment",
        GE_QA,
        AK::Iso17024Certification,
        D::Positive,
        &[],
        &["0411", "0612"],
        false,
        "2023-11-01",
        "2029-10-31",
        History::Open,
        "",
    ),
    (
        "kauri-coast-institutional",
        "kauri-coast",
        NZ_QA,
        AK::InstitutionalReview,
        D::Positive,
        &[],
        &[],
        true,
        "2021-04-01",
        "2029-03-31",
        History::Open,
        "",
    ),
    (
        "kauri-coast-accounting",
        "kauri-coast",
        NZ_QA,
        AK::ProfessionalEndorsement,
        D::Positive,
        &[6, 7],
        &["0411"],
        true,
        "2024-05-01",
        "2029-04-30",
        History::Open,
        "",
    ),
    (
        "harbourview-approval",
        "harbourview",
        NZ_QA,
        AK::ProgrammeAccreditation,
        D::Positive,
        &[3, 4, 5],
        &["0715", "1013", "0913"],
        true,
        "2022-08-01",
        "2029-07-31",
        History::Open,
        "",
    ),
    (
        "totara-skills-consent",
        "totara-skills",
        NZ_QA,
        AK::Licensing,
        D::Positive,
        &[],
        &[],
        false,
        "2021-02-01",
        "2028-01-31",
        History::Withdrawn("2025-02-01"),
        "",
    ),
    (
        "fernleaf-iso21001",
        "fernleaf",
        NZ_QA,
        AK::Iso21001Certification,
        D::Positive,
        &[2, 3, 4],
        &["0913", "0111"],
        false,
        "2023-06-01",
        "2029-05-31",
        History::Open,
        "",
    ),
    (
        "polder-institutional",
        "polder",
        NL_QA,
        AK::InstitutionalReview,
        D::Positive,
        &[5, 6, 7],
        &[],
        true,
        "2023-05-01",
        "2029-04-30",
        History::Open,
        "",
    ),
    (
        "polder-environment",
        "polder",
        NL_QA,
        AK::ProgrammeAccreditation,
        D::Positive,
        &[6],
        &["0521"],
        true,
        "2022-09-01",
        "2028-08-31",
        History::Open,
        "",
    ),
    (
        "tulpenveld-iso21001",
        "tulpenveld",
        NL_QA,
        AK::Iso21001Certification,
        D::Positive,
        &[5, 6],
        &["0613", "0612"],
        true,
        "2024-10-01",
        "2030-09-30",
        History::Open,
        "",
    ),
    (
        "open-learning-lowlands-platform",
        "open-learning-lowlands",
        NL_QA,
        AK::PlatformCertification,
        D::Positive,
        &[4, 5, 6],
        &["0413", "0414", "0611"],
        true,
        "2024-01-15",
        "2029-01-14",
        History::Open,
        "",
    ),
    (
        "lindenau-system",
        "lindenau",
        NL_QA,
        AK::InstitutionalReview,
        D::Positive,
        &[],
        &[],
        true,
        "2020-03-01",
        "2028-02-29",
        History::Open,
        "",
    ),
    (
        "eichwald-programmes",
        "eichwald",
        NL_QA,
        AK::ProgrammeAccreditation,
        D::Positive,
        &[3, 4],
        &["0715", "0413"],
        false,
        "2022-10-01",
        "2029-09-30",
        History::Open,
        "",
    ),
    // By the agency retired on 2024-12-31.
    (
        "eichwald-licence",
        "eichwald",
        DE_QA,
        AK::Licensing,
        D::Positive,
        &[3, 4],
        &["0715"],
        false,
        "2021-01-01",
        "2028-12-31",
        History::Open,
        "",
    ),
    (
        "nordlicht-iso17024",
        "nordlicht",
        DE_QA,
        AK::Iso17024Certification,
        D::Positive,
        &[],
        &["0612", "0715", "0411"],
        false,
        "2021-06-01",
        "2027-05-31",
        History::Open,
        "",
    ),
    (
        "belcombe-institutional",
        "belcombe",
        NL_QA,
        AK::InstitutionalReview,
        D::Positive,
        &[],
        &[],
        true,
        "2023-02-01",
        "2029-01-31",
        History::Open,
        "",
    ),
    (
        "clairval-crafts-licence",
        "clairval-crafts",
        NL_QA,
        AK::Licensing,
        D::Positive,
        &[3, 4, 5],
        &["1013", "0715", "0414"],
        false,
        "2023-04-01",
        "2029-03-31",
        History::Open,
        "",
    ),
];

fn accreditation_row(slug: &str) -> &'static AccreditationRow {
    ACCREDITATIONS
        .iter()
        .find(|row| row.0 == slug)
        .expect("demo accreditation exists")
}

fn period(status: AccreditationStatus, from: &str, until: &str, reason: &str) -> StatusPeriod {
    StatusPeriod {
        status,
        effective_from: day(from),
        effective_until: opt_day(until),
        reason: reason.into(),
    }
}

/// The accreditations with their status histories (contiguous, half-open, the last one open).
pub fn accreditations() -> Vec<(Accreditation, Vec<StatusPeriod>)> {
    use AccreditationStatus::*;
    ACCREDITATIONS
        .iter()
        .map(
            |&(
                slug,
                provider,
                agency,
                kind,
                decision,
                eqf,
                fields,
                generic,
                from,
                until,
                history,
                conditions,
            )| {
                let (_, country, _, _, _, _, _, _, _, _) = *provider_row(provider);
                let accreditation = Accreditation {
                    id: demo_id(IdKind::Accreditation, slug),
                    agency_id: demo_id(IdKind::QaAgency, agency),
                    provider_id: demo_id(IdKind::Provider, provider),
                    kind,
                    decision,
                    scope: AccreditationScope {
                        eqf_levels: eqf.to_vec(),
                        credential_types: if generic {
                            vec![GENERIC_CREDENTIAL.into()]
                        } else {
                            Vec::new()
                        },
                        fields_of_study: fields.iter().map(|code| isced(code)).collect(),
                        jurisdictions: vec![country.into()],
                    },
                    valid_from: day(from),
                    valid_until: opt_day(until),
                    report_url: format!("https://{}/reports/{slug}.pdf", agency_row(agency).6),
                    conditions: conditions.into(),
                    recorded_at: day(from),
                };
                let history = match history {
                    History::Open => vec![period(Granted, from, "", "Decision of the agency.")],
                    History::SuspendedThenReinstated => vec![
                        period(Granted, from, "2024-03-01", "Certification granted."),
                        period(
                            Suspended,
                            "2024-03-01",
                            "2024-06-01",
                            "Surveillance audit found a major nonconformity.",
                        ),
                        period(
                            Reinstated,
                            "2024-06-01",
                            "",
                            "Nonconformity closed at a follow-up audit.",
                        ),
                    ],
                    History::Withdrawn(on) => vec![
                        period(Granted, from, on, "Decision of the agency."),
                        period(
                            Withdrawn,
                            on,
                            "",
                            "Withdrawn after a monitoring review found assessment malpractice.",
                        ),
                    ],
                    History::Never => Vec::new(),
                };
                (accreditation, history)
            },
        )
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Qualifications

/// The shared pool of learning outcomes, each naming one placeholder ESCO skill (`skill_uri(i)`).
const OUTCOMES: [&str; 16] = [
    "Write, test and document Python programs that automate data tasks.",
    "Design and run unit, integration and regression tests and report defects.",
    "Deploy and operate services on cloud infrastructure using infrastructure as code.",
    "Clean, analyse and visualise data sets and interpret the results.",
    "Identify security threats and apply controls that protect systems and networks.",
    "Prepare and interpret financial statements following accounting standards.",
    "Carry out welds safely to the quality required by the work specification.",
    "Plan and deliver person-centred care and record it accurately.",
    "Apply infection prevention and control procedures in care settings.",
    "Create and coordinate building information models across disciplines.",
    "Apply principles of energy efficiency and sustainability in design decisions.",
    "Plan environmental sampling, measure indicators and report the findings.",
    "Plan, schedule and monitor a project and manage its risks and stakeholders.",
    "Work effectively in a team and communicate clearly with colleagues and clients.",
    "Plan digital marketing campaigns and measure their performance.",
    "Apply food safety and hygiene rules, including HACCP-based procedures.",
];

/// Notional workload as stated by the provider.
#[derive(Clone, Copy)]
enum Work {
    Ects(f64),
    /// Hours with the ECTS equivalent at 25 hours a credit.
    Hours(f64),
    /// Hours with no ECTS equivalent stated.
    HoursOnly(f64),
    Ecvet(f64),
    /// New Zealand credits (10 hours each; 120 a year), stated as half as many ECTS (60 a year).
    NzCredits(f64),
}

fn workload(work: Work) -> Workload {
    let (credit_system, value, other, ects) = match work {
        Work::Ects(v) => (CreditSystem::Ects, v, "", Some(v)),
        Work::Hours(h) => (CreditSystem::Hours, h, "", Some(h / 25.0)),
        Work::HoursOnly(h) => (CreditSystem::Hours, h, "", None),
        Work::Ecvet(v) => (CreditSystem::Ecvet, v, "", None),
        Work::NzCredits(v) => (CreditSystem::Other, v, "NZQCF credits", Some(v / 2.0)),
    };
    Workload {
        credit_system,
        value,
        other_system: other.into(),
        ects,
    }
}

/// (slug, provider, accreditations, level code in the provider's framework, English title, local title, ISCED-F code, outcome indices, workload, participation, stackability, published, withdrawn, version)
type QualificationRow = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [usize],
    Work,
    PF,
    ST,
    &'static str,
    &'static str,
    u32,
);
const NB: &[&str] = &["northbridge-institutional"];
const NB_NURSING: &[&str] = &["northbridge-nursing", "northbridge-institutional"];
const MT: &[&str] = &["mtkvari-authorisation"];
const MT_ARCH: &[&str] = &["mtkvari-architecture", "mtkvari-authorisation"];
const KC: &[&str] = &["kauri-coast-institutional"];
const KC_ACC: &[&str] = &["kauri-coast-accounting", "kauri-coast-institutional"];
const PD_ENV: &[&str] = &["polder-environment", "polder-institutional"];
const PD: &[&str] = &["polder-institutional"];
const QUALIFICATIONS: &[QualificationRow] = &[
    // Ireland (IE-NFQ)
    (
        "nb-python",
        "northbridge",
        NB,
        "7",
        "Python Programming for Data Work",
        "Ríomhchlárú Python don Obair Sonraí",
        "0613",
        &[0, 3, 13],
        Work::Ects(10.0),
        PF::Blended,
        ST::Stackable,
        "2023-09-15",
        "",
        1,
    ),
    (
        "nb-testing",
        "northbridge",
        NB,
        "8",
        "Software Testing and Quality Engineering",
        "",
        "0613",
        &[1, 0, 13],
        Work::Ects(5.0),
        PF::Online,
        ST::Stackable,
        "2023-09-15",
        "",
        1,
    ),
    (
        "nb-cloud",
        "northbridge",
        NB,
        "9",
        "Cloud Infrastructure Operations",
        "",
        "0612",
        &[2, 4, 12],
        Work::Ects(10.0),
        PF::Online,
        ST::Standalone,
        "2024-01-20",
        "",
        2,
    ),
    (
        "nb-secure-software",
        "northbridge",
        NB,
        "8",
        "Certificate in Secure Software Engineering",
        "Teastas in Innealtóireacht Bogearraí Slána",
        "0613",
        &[4, 1, 0],
        Work::Ects(15.0),
        PF::Blended,
        ST::Integrated,
        "2024-02-01",
        "",
        1,
    ),
    (
        "nb-infection-control",
        "northbridge",
        NB_NURSING,
        "8",
        "Infection Prevention and Control in Clinical Practice",
        "Cosc agus Rialú Ionfhabhtuithe i gCleachtas Cliniciúil",
        "0913",
        &[7, 8],
        Work::Ects(5.0),
        PF::Onsite,
        ST::Stackable,
        "2023-10-01",
        "",
        1,
    ),
    (
        "nb-older-persons",
        "northbridge",
        NB_NURSING,
        "7",
        "Care of Older Persons",
        "Cúram Daoine Scothaosta",
        "0913",
        &[7, 13],
        Work::Ects(10.0),
        PF::Blended,
        ST::Stackable,
        "2024-03-01",
        "",
        1,
    ),
    (
        "bk-mig-welding",
        "ballykeel",
        &["ballykeel-licence"],
        "5",
        "MIG Welding Fundamentals",
        "",
        "0715",
        &[6, 13],
        Work::Hours(100.0),
        PF::Onsite,
        ST::Standalone,
        "2023-02-01",
        "",
        1,
    ),
    (
        "bk-food-safety",
        "ballykeel",
        &["ballykeel-licence"],
        "4",
        "Food Safety and HACCP Supervision",
        "",
        "1013",
        &[15, 13],
        Work::Hours(50.0),
        PF::Onsite,
        ST::Standalone,
        "2023-03-01",
        "",
        1,
    ),
    (
        "bk-payroll",
        "ballykeel",
        &["ballykeel-licence"],
        "6",
        "Payroll and Bookkeeping Essentials",
        "",
        "0411",
        &[5, 3],
        Work::Ects(5.0),
        PF::Blended,
        ST::Stackable,
        "2023-04-15",
        "",
        1,
    ),
    (
        "if-digital-leaders",
        "inishfall",
        &["inishfall-iso21001"],
        "4",
        "Digital Skills for Community Leaders",
        "Scileanna Digiteacha do Cheannairí Pobail",
        "0611",
        &[13, 3],
        Work::HoursOnly(30.0),
        PF::Online,
        ST::Standalone,
        "2023-05-01",
        "",
        1,
    ),
    (
        "if-web-basics",
        "inishfall",
        &["inishfall-iso21001"],
        "5",
        "Introduction to Web Development",
        "",
        "0613",
        &[0, 1],
        Work::Ects(3.0),
        PF::Online,
        ST::Stackable,
        "2024-07-01",
        "",
        1,
    ),
    (
        "lw-marketing-analytics",
        "learnwell",
        &["learnwell-platform"],
        "6",
        "Digital Marketing Analytics",
        "",
        "0414",
        &[14, 3],
        Work::Ects(4.0),
        PF::Online,
        ST::Standalone,
        "2024-04-01",
        "",
        1,
    ),
    (
        "lw-agile-pm",
        "learnwell",
        &["learnwell-platform"],
        "7",
        "Agile Project Management",
        "",
        "0413",
        &[12, 13],
        Work::Ects(6.0),
        PF::Online,
        ST::Stackable,
        "2024-05-01",
        "2025-10-01",
        1,
    ),
    // Georgia (GE-NQF, not referenced to the EQF)
    (
        "mt-data-analysis",
        "mtkvari",
        MT,
        "6",
        "Data Analysis with Python",
        "მონაცემთა ანალიზი პითონით",
        "0613",
        &[3, 0],
        Work::Ects(6.0),
        PF::Blended,
        ST::Stackable,
        "2023-10-01",
        "",
        1,
    ),
    (
        "mt-environmental-impact",
        "mtkvari",
        MT,
        "7",
        "Environmental Impact Assessment",
        "გარემოზე ზემოქმედების შეფასება",
        "0521",
        &[11, 12],
        Work::Ects(5.0),
        PF::Onsite,
        ST::Standalone,
        "2024-02-15",
        "",
        1,
    ),
    (
        "mt-bim",
        "mtkvari",
        MT_ARCH,
        "6",
        "Building Information Modelling",
        "შენობის საინფორმაციო მოდელირება",
        "0731",
        &[9, 10],
        Work::Ects(8.0),
        PF::Blended,
        ST::Stackable,
        "2023-03-01",
        "",
        1,
    ),
    (
        "mt-green-architecture",
        "mtkvari",
        MT_ARCH,
        "7",
        "Energy-Efficient Architectural Design",
        "ენერგოეფექტური არქიტექტურული დიზაინი",
        "0731",
        &[10, 9, 12],
        Work::Ects(10.0),
        PF::Onsite,
        ST::Integrated,
        "2024-09-01",
        "",
        1,
    ),
    (
        "kh-welding",
        "kolkheti",
        &["kolkheti-licence-2018"],
        "4",
        "Welding Technician Basics",
        "შედუღების საფუძვლები",
        "0715",
        &[6],
        Work::Ects(6.0),
        PF::Onsite,
        ST::Standalone,
        "2022-03-01",
        "",
        1,
    ),
    (
        "kh-front-office",
        "kolkheti",
        &["kolkheti-licence-2018"],
        "3",
        "Hotel Front Office Operations",
        "",
        "1013",
        &[15, 13],
        Work::Ects(5.0),
        PF::Onsite,
        ST::Standalone,
        "2023-01-15",
        "",
        1,
    ),
    (
        "tcf-backend",
        "tbilisi-code-factory",
        &["tbilisi-code-factory-iso21001"],
        "5",
        "Backend Development Bootcamp",
        "",
        "0613",
        &[0, 1, 2],
        Work::Hours(300.0),
        PF::Blended,
        ST::Stackable,
        "2024-03-01",
        "",
        1,
    ),
    (
        "tcf-devops",
        "tbilisi-code-factory",
        &["tbilisi-code-factory-iso21001"],
        "6",
        "DevOps Engineering",
        "",
        "0612",
        &[2, 4],
        Work::Hours(150.0),
        PF::Online,
        ST::Stackable,
        "2024-06-01",
        "",
        1,
    ),
    (
        "caa-accounting-technician",
        "caucasus-assessment",
        &["caucasus-assessment-iso17024"],
        "5",
        "Accounting Technician Certification (assessment only)",
        "ბუღალტრული აღრიცხვის ტექნიკოსის სერტიფიცირება",
        "0411",
        &[5],
        Work::HoursOnly(20.0),
        PF::Online,
        ST::Standalone,
        "2024-01-10",
        "",
        1,
    ),
    (
        "caa-network-security",
        "caucasus-assessment",
        &["caucasus-assessment-iso17024"],
        "5",
        "Network Security Practitioner Certification",
        "",
        "0612",
        &[4],
        Work::HoursOnly(24.0),
        PF::Onsite,
        ST::Standalone,
        "2024-04-01",
        "",
        1,
    ),
    // New Zealand (NZQCF)
    (
        "kc-freshwater",
        "kauri-coast",
        KC,
        "8",
        "Freshwater Quality Monitoring",
        "Te Aroturuki i te Kounga o te Wai Māori",
        "0521",
        &[11, 3],
        Work::NzCredits(15.0),
        PF::Blended,
        ST::Stackable,
        "2023-08-01",
        "",
        1,
    ),
    (
        "kc-data-science",
        "kauri-coast",
        KC,
        "7",
        "Data Science Foundations",
        "",
        "0613",
        &[3, 0],
        Work::NzCredits(15.0),
        PF::Online,
        ST::Stackable,
        "2023-08-01",
        "",
        1,
    ),
    (
        "kc-sustainable-leadership",
        "kauri-coast",
        KC,
        "9",
        "Leading Sustainable Organisations",
        "",
        "0413",
        &[12, 10, 13],
        Work::NzCredits(30.0),
        PF::Blended,
        ST::Integrated,
        "2024-02-01",
        "",
        1,
    ),
    (
        "kc-accounting-practice",
        "kauri-coast",
        KC_ACC,
        "7",
        "Professional Accounting Practice",
        "",
        "0411",
        &[5, 3],
        Work::NzCredits(15.0),
        PF::Online,
        ST::Stackable,
        "2024-06-01",
        "",
        1,
    ),
    (
        "kc-audit",
        "kauri-coast",
        KC_ACC,
        "9",
        "Audit and Assurance",
        "",
        "0411",
        &[5, 12],
        Work::NzCredits(15.0),
        PF::Online,
        ST::Standalone,
        "2024-06-01",
        "",
        2,
    ),
    (
        "hv-structural-welding",
        "harbourview",
        &["harbourview-approval"],
        "4",
        "Structural Steel Welding",
        "",
        "0715",
        &[6, 13],
        Work::Hours(200.0),
        PF::Onsite,
        ST::Stackable,
        "2023-03-01",
        "",
        1,
    ),
    (
        "hv-health-support",
        "harbourview",
        &["harbourview-approval"],
        "3",
        "Health and Wellbeing Support",
        "Te Tautoko Hauora",
        "0913",
        &[7, 8, 13],
        Work::NzCredits(10.0),
        PF::Blended,
        ST::Stackable,
        "2023-07-01",
        "",
        1,
    ),
    (
        "hv-barista",
        "harbourview",
        &["harbourview-approval"],
        "2",
        "Barista and Café Service",
        "",
        "1013",
        &[15, 13],
        Work::HoursOnly(40.0),
        PF::Onsite,
        ST::Standalone,
        "2024-01-15",
        "",
        1,
    ),
    (
        "ts-first-aid",
        "totara-skills",
        &["totara-skills-consent"],
        "3",
        "Workplace First Aid",
        "Te Whakaora Tuatahi i te Wāhi Mahi",
        "0913",
        &[7, 13],
        Work::HoursOnly(16.0),
        PF::Onsite,
        ST::Standalone,
        "2022-05-01",
        "",
        1,
    ),
    (
        "ts-site-safety",
        "totara-skills",
        &["totara-skills-consent"],
        "4",
        "Construction Site Safety",
        "",
        "0732",
        &[12, 13],
        Work::NzCredits(5.0),
        PF::Onsite,
        ST::Standalone,
        "2022-06-01",
        "2025-02-01",
        1,
    ),
    (
        "fl-teacher-aide",
        "fernleaf",
        &["fernleaf-iso21001"],
        "3",
        "Teacher Aide Foundations",
        "Ngā Tūāpapa mō te Kaiāwhina Kaiako",
        "0111",
        &[13],
        Work::NzCredits(10.0),
        PF::Blended,
        ST::Stackable,
        "2023-09-01",
        "",
        1,
    ),
    // Netherlands (EQF)
    (
        "pd-circular-economy",
        "polder",
        PD_ENV,
        "6",
        "Circular Economy and Waste Management",
        "Circulaire economie en afvalbeheer",
        "0521",
        &[11, 10],
        Work::Ects(5.0),
        PF::Blended,
        ST::Stackable,
        "2023-09-01",
        "",
        1,
    ),
    (
        "pd-climate-water",
        "polder",
        PD_ENV,
        "6",
        "Climate Adaptation and Water Management",
        "Klimaatadaptatie en waterbeheer",
        "0521",
        &[11, 3, 12],
        Work::Ects(7.5),
        PF::Onsite,
        ST::Stackable,
        "2024-02-01",
        "",
        1,
    ),
    (
        "pd-machine-learning",
        "polder",
        PD,
        "7",
        "Applied Machine Learning",
        "Toegepaste machine learning",
        "0613",
        &[0, 3],
        Work::Ects(6.0),
        PF::Online,
        ST::Standalone,
        "2024-09-01",
        "",
        1,
    ),
    (
        "pd-digital-care",
        "polder",
        PD,
        "5",
        "Digital Health for Nurses",
        "Digitale zorg voor verpleegkundigen",
        "0913",
        &[7, 3],
        Work::Ects(3.0),
        PF::Online,
        ST::Stackable,
        "2025-01-15",
        "",
        1,
    ),
    (
        "tv-data-engineering",
        "tulpenveld",
        &["tulpenveld-iso21001"],
        "5",
        "Data Engineering Essentials",
        "Basis data engineering",
        "0613",
        &[3, 2, 0],
        Work::Ects(4.0),
        PF::Online,
        ST::Stackable,
        "2024-11-01",
        "",
        1,
    ),
    (
        "tv-cloud-security",
        "tulpenveld",
        &["tulpenveld-iso21001"],
        "6",
        "Cloud Security Operations",
        "",
        "0612",
        &[4, 2],
        Work::Ects(5.0),
        PF::Blended,
        ST::Standalone,
        "2025-03-01",
        "",
        1,
    ),
    (
        "oll-social-media",
        "open-learning-lowlands",
        &["open-learning-lowlands-platform"],
        "4",
        "Social Media Marketing",
        "Socialemediamarketing",
        "0414",
        &[14],
        Work::Ects(2.0),
        PF::Online,
        ST::Standalone,
        "2024-02-15",
        "",
        1,
    ),
    (
        "oll-project-management",
        "open-learning-lowlands",
        &["open-learning-lowlands-platform"],
        "5",
        "Project Management Fundamentals",
        "Basisprincipes van projectmanagement",
        "0413",
        &[12, 13],
        Work::Ects(3.0),
        PF::Online,
        ST::Stackable,
        "2024-03-01",
        "",
        1,
    ),
    // Germany (EQF)
    (
        "ld-responsible-ai",
        "lindenau",
        &["lindenau-system"],
        "7",
        "Responsible AI in Practice",
        "Verantwortungsvolle KI in der Praxis",
        "0613",
        &[0, 3, 13],
        Work::Ects(5.0),
        PF::Blended,
        ST::Stackable,
        "2024-04-01",
        "",
        1,
    ),
    (
        "ld-bim-coordination",
        "lindenau",
        &["lindenau-system"],
        "6",
        "BIM Coordination",
        "BIM-Koordination",
        "0731",
        &[9, 12],
        Work::Ects(6.0),
        PF::Onsite,
        ST::Standalone,
        "2023-10-15",
        "",
        1,
    ),
    (
        "ew-robotic-welding",
        "eichwald",
        &["eichwald-programmes", "eichwald-licence"],
        "4",
        "Robotic Welding in Industry",
        "Roboterschweißen in der Industrie",
        "0715",
        &[6, 12],
        Work::Ecvet(10.0),
        PF::Onsite,
        ST::Standalone,
        "2023-05-01",
        "",
        1,
    ),
    (
        "ew-office-management",
        "eichwald",
        &["eichwald-programmes"],
        "3",
        "Office Management Assistant",
        "Assistenz im Büromanagement",
        "0413",
        &[12, 13],
        Work::Hours(120.0),
        PF::Blended,
        ST::Stackable,
        "2024-01-15",
        "",
        1,
    ),
    (
        "nc-network-admin",
        "nordlicht",
        &["nordlicht-iso17024"],
        "5",
        "Certified Network Administrator",
        "Zertifizierte Netzwerkadministration",
        "0612",
        &[4, 2],
        Work::HoursOnly(8.0),
        PF::Onsite,
        ST::Standalone,
        "2022-09-01",
        "",
        1,
    ),
    // France (EQF)
    (
        "bc-privacy-engineering",
        "belcombe",
        &["belcombe-institutional"],
        "7",
        "Data Protection and Privacy Engineering",
        "Ingénierie de la protection des données",
        "0612",
        &[4, 3],
        Work::Ects(6.0),
        PF::Online,
        ST::Stackable,
        "2024-01-10",
        "",
        1,
    ),
    (
        "cv-artisan-pastry",
        "clairval-crafts",
        &["clairval-crafts-licence"],
        "4",
        "Artisan Pastry Techniques",
        "Techniques de pâtisserie artisanale",
        "1013",
        &[15],
        Work::Hours(140.0),
        PF::Onsite,
        ST::Standalone,
        "2023-09-01",
        "",
        1,
    ),
    (
        "cv-craft-ecommerce",
        "clairval-crafts",
        &["clairval-crafts-licence"],
        "5",
        "E-commerce for Craft Businesses",
        "Commerce en ligne pour les entreprises artisanales",
        "0414",
        &[14, 12],
        Work::Ects(3.0),
        PF::Blended,
        ST::Stackable,
        "2024-10-01",
        "",
        1,
    ),
];

/// (stackable micro-credential, the larger one it counts towards)
const STACKS: &[(&str, &str)] = &[
    ("nb-python", "nb-secure-software"),
    ("nb-testing", "nb-secure-software"),
    ("mt-bim", "mt-green-architecture"),
    ("kc-data-science", "kc-sustainable-leadership"),
    ("kc-freshwater", "kc-sustainable-leadership"),
];

fn assessment(participation: PF, i: usize) -> &'static [AT] {
    const ONLINE: [&[AT]; 3] = [
        &[AT::OnlineTest],
        &[AT::OnlineTest, AT::Project],
        &[AT::Portfolio, AT::PeerAssessment],
    ];
    const ONSITE: [&[AT]; 3] = [
        &[AT::WrittenExam, AT::PracticalDemonstration],
        &[AT::PracticalDemonstration, AT::OralExam],
        &[AT::WrittenExam],
    ];
    const BLENDED: [&[AT]; 3] = [
        &[AT::Project, AT::OralExam],
        &[AT::Portfolio],
        &[AT::Project, AT::PeerAssessment],
    ];
    match participation {
        PF::Online => ONLINE[i % 3],
        PF::Onsite => ONSITE[i % 3],
        PF::Blended => BLENDED[i % 3],
    }
}

fn supervision(participation: PF, i: usize) -> Option<Supervision> {
    match (participation, i % 4) {
        (PF::Online, 3) => Some(Supervision::UnsupervisedNoIdentityVerification),
        (PF::Online, _) => Some(Supervision::SupervisedOnlineWithIdentityVerification),
        (PF::Onsite, _) => Some(Supervision::SupervisedOnsiteWithIdentityVerification),
        (PF::Blended, 0) => None,
        (PF::Blended, _) => Some(Supervision::SupervisedNoIdentityVerification),
    }
}

fn missing_level(framework: &str, level: &str) -> DomainError {
    DomainError::FailedPrecondition(format!(
        "the demo dataset needs level {level} of framework {framework}, which is not seeded"
    ))
}

/// The 50 micro-credentials. Each level's EQF level is copied from `frameworks` (by framework id).
pub fn qualifications(frameworks: &HashMap<String, Framework>) -> Result<Vec<Qualification>, DomainError> {
    let mut out = Vec::with_capacity(QUALIFICATIONS.len());
    for (
        i,
        &(
            slug,
            provider,
            accreditations,
            level,
            title,
            local_title,
            field,
            outcomes,
            work,
            participation,
            stackability,
            published,
            withdrawn,
            version,
        ),
    ) in QUALIFICATIONS.iter().enumerate()
    {
        let (_, country, _, _, lang, _, domain, _, _, _) = *provider_row(provider);
        let framework_id = framework_for(country);
        let eqf_level = frameworks
            .get(framework_id)
            .and_then(|framework| framework.level(level))
            .ok_or_else(|| missing_level(framework_id, level))?
            .eqf_level;
        let (_, _, agency, kind, _, _, _, generic, ..) = *accreditation_row(accreditations[0]);
        let types = assessment(participation, i);
        let words = |s: &str| s.replace('_', " ");
        let (description, stacks_into) = match stackability {
            ST::Standalone => ("A stand-alone micro-credential.", Vec::new()),
            ST::Stackable => (
                "Can be combined with other micro-credentials of the provider towards a larger award.",
                STACKS
                    .iter()
                    .filter(|(from, _)| *from == slug)
                    .map(|(_, into)| demo_id(IdKind::Qualification, into))
                    .collect(),
            ),
            ST::Integrated => (
                "Part of a larger award; stackable micro-credentials count towards it.",
                Vec::new(),
            ),
        };
        out.push(Qualification {
            id: demo_id(IdKind::Qualification, slug),
            provider_id: demo_id(IdKind::Provider, provider),
            titles: names(title, lang, local_title),
            awarding_body_ids: vec![demo_id(IdKind::Provider, provider)],
            countries: vec![country.into()],
            learning_outcomes: outcomes
                .iter()
                .map(|&o| LearningOutcome {
                    text: OUTCOMES[o].into(),
                    skill_uris: vec![skill_uri(o)],
                })
                .collect(),
            workload: workload(work),
            level: Some(FrameworkLevelRef {
                framework_id: framework_id.into(),
                level_code: level.into(),
                eqf_level,
            }),
            assessment_types: types.to_vec(),
            assessment_description: format!(
                "Assessed by {}.",
                types
                    .iter()
                    .map(|t| words(t.as_str()))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            participation,
            quality_assurance: QualityAssurance {
                description: format!(
                    "Covered by the {} decision of {}.",
                    words(kind.as_str()),
                    agency_row(agency).3
                ),
                accreditation_ids: accreditations
                    .iter()
                    .map(|a| demo_id(IdKind::Accreditation, a))
                    .collect(),
            },
            prerequisites: match eqf_level {
                Some(l) if l >= 7 => {
                    "A bachelor's degree in a related field or equivalent professional experience."
                }
                Some(6) => "Upper-secondary education and some work experience in the field.",
                Some(_) => "None.",
                None => "Entry is assessed individually; see the further information.",
            }
            .into(),
            supervision: supervision(participation, i),
            grading_scheme: grading_scheme(country).into(),
            stackability: StackabilityOptions {
                stackability,
                description: description.into(),
                stacks_into,
            },
            further_information: format!("https://{domain}/micro-credentials/{slug}"),
            credential_type: if generic {
                GENERIC_CREDENTIAL.into()
            } else {
                String::new()
            },
            field_of_study: isced(field),
            languages: if local_title.is_empty() {
                vec!["en".into()]
            } else {
                vec![lang.into(), "en".into()]
            },
            published_at: day(published),
            withdrawn_at: opt_day(withdrawn),
            version,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Recognitions

const LRC: &str = "lowlands-recognition-centre";
const GUA: &str = "glenmore-admissions";
const SCA: &str = "southern-cross-accountants";

/// (slug, body, qualification, purpose, route, outcome, credits, credit system, target programme, conditions, decided, retracted)
type RecognitionRow = (
    &'static str,
    &'static str,
    &'static str,
    RP,
    RR,
    RO,
    f64,
    Option<CreditSystem>,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);
const ECTS: Option<CreditSystem> = Some(CreditSystem::Ects);
const HOURS: Option<CreditSystem> = Some(CreditSystem::Hours);
const RECOGNITIONS: &[RecognitionRow] = &[
    (
        "r01",
        GUA,
        "nb-python",
        RP::CreditTransfer,
        RR::CreditExchangeAgreement,
        RO::Recognised,
        10.0,
        ECTS,
        "BSc in Computing",
        "",
        "2024-06-10",
        "",
    ),
    (
        "r02",
        GUA,
        "nb-testing",
        RP::Exemption,
        RR::PriorLearning,
        RO::Recognised,
        5.0,
        ECTS,
        "MSc in Software Engineering",
        "",
        "2024-07-01",
        "",
    ),
    (
        "r03",
        GUA,
        "pd-machine-learning",
        RP::CreditTransfer,
        RR::FreeElective,
        RO::Recognised,
        6.0,
        ECTS,
        "BSc in Data Science",
        "",
        "2025-01-20",
        "",
    ),
    (
        "r04",
        GUA,
        "mt-data-analysis",
        RP::Admission,
        RR::LisbonRecognitionConvention,
        RO::RecognisedWithConditions,
        0.0,
        None,
        "MSc in Data Analytics",
        "Complete the bridging module in statistics (5 ECTS) in the first semester.",
        "2024-09-01",
        "",
    ),
    (
        "r05",
        GUA,
        "kh-welding",
        RP::Admission,
        RR::LisbonRecognitionConvention,
        RO::Refused,
        0.0,
        None,
        "Higher Certificate in Engineering",
        "",
        "2025-03-10",
        "",
    ),
    (
        "r06",
        GUA,
        "tv-data-engineering",
        RP::CreditTransfer,
        RR::FreeElective,
        RO::PartiallyRecognised,
        2.5,
        ECTS,
        "BSc in Data Science",
        "",
        "2025-02-01",
        "",
    ),
    (
        "r07",
        GUA,
        "kc-data-science",
        RP::CreditTransfer,
        RR::GlobalConvention,
        RO::Recognised,
        7.5,
        ECTS,
        "BSc in Data Science",
        "",
        "2024-11-15",
        "",
    ),
    (
        "r08",
        LRC,
        "kc-freshwater",
        RP::Admission,
        RR::GlobalConvention,
        RO::RecognisedWithConditions,
        0.0,
        None,
        "MSc Water Management",
        "Show learning outcomes at EQF level 6 in an entry interview.",
        "2024-05-20",
        "",
    ),
    (
        "r09",
        LRC,
        "mt-bim",
        RP::Employment,
        RR::LisbonRecognitionConvention,
        RO::Recognised,
        0.0,
        None,
        "Registration as architectural technician",
        "",
        "2024-03-05",
        "",
    ),
    (
        "r10",
        LRC,
        "nb-infection-control",
        RP::Employment,
        RR::LisbonRecognitionConvention,
        RO::Recognised,
        0.0,
        None,
        "Register of nursing specialists",
        "",
        "2024-04-12",
        "",
    ),
    (
        "r11",
        LRC,
        "ld-responsible-ai",
        RP::CreditTransfer,
        RR::LisbonRecognitionConvention,
        RO::Recognised,
        5.0,
        ECTS,
        "MSc Applied Artificial Intelligence",
        "",
        "2024-10-01",
        "",
    ),
    (
        "r12",
        LRC,
        "cv-artisan-pastry",
        RP::Employment,
        RR::PriorLearning,
        RO::PartiallyRecognised,
        3.0,
        ECTS,
        "Bakery and pastry vocational programme",
        "",
        "2024-06-01",
        "",
    ),
    (
        "r13",
        LRC,
        "tcf-backend",
        RP::CreditTransfer,
        RR::PriorLearning,
        RO::Refused,
        0.0,
        None,
        "Associate degree in Software Development",
        "",
        "2024-08-20",
        "",
    ),
    (
        "r14",
        LRC,
        "bc-privacy-engineering",
        RP::Exemption,
        RR::CreditExchangeAgreement,
        RO::Recognised,
        6.0,
        ECTS,
        "MSc Cybersecurity",
        "",
        "2024-12-01",
        "",
    ),
    (
        "r15",
        SCA,
        "kc-accounting-practice",
        RP::ContinuingProfessionalDevelopment,
        RR::PriorLearning,
        RO::Recognised,
        15.0,
        HOURS,
        "CPD scheme for chartered accountants",
        "",
        "2024-08-01",
        "",
    ),
    (
        "r16",
        SCA,
        "kc-audit",
        RP::ContinuingProfessionalDevelopment,
        RR::PriorLearning,
        RO::Recognised,
        20.0,
        HOURS,
        "CPD scheme for chartered accountants",
        "",
        "2024-09-15",
        "",
    ),
    (
        "r17",
        SCA,
        "caa-accounting-technician",
        RP::Exemption,
        RR::GlobalConvention,
        RO::RecognisedWithConditions,
        0.0,
        None,
        "Accounting technician membership",
        "Pass the New Zealand taxation module examination.",
        "2024-07-20",
        "",
    ),
    (
        "r18",
        SCA,
        "bk-payroll",
        RP::Exemption,
        RR::FreeElective,
        RO::PartiallyRecognised,
        2.5,
        ECTS,
        "Accounting technician membership",
        "",
        "2024-05-05",
        "",
    ),
    // Retracted once the micro-credential was withdrawn.
    (
        "r19",
        SCA,
        "lw-agile-pm",
        RP::ContinuingProfessionalDevelopment,
        RR::FreeElective,
        RO::Recognised,
        10.0,
        HOURS,
        "CPD scheme for chartered accountants",
        "",
        "2024-10-01",
        "2025-10-15",
    ),
    (
        "r20",
        GUA,
        "oll-project-management",
        RP::ContinuingProfessionalDevelopment,
        RR::CreditExchangeAgreement,
        RO::Recognised,
        3.0,
        ECTS,
        "Certificate in Professional Development",
        "",
        "2025-04-01",
        "",
    ),
];

/// The recognition decisions.
pub fn recognitions() -> Vec<Recognition> {
    RECOGNITIONS
        .iter()
        .map(
            |&(
                slug,
                body,
                qualification,
                purpose,
                route,
                outcome,
                credits_granted,
                credit_system,
                target,
                conditions,
                decided,
                retracted,
            )| Recognition {
                id: demo_id(IdKind::Recognition, &format!("recognition-{slug}")),
                body_id: demo_id(IdKind::RecognitionBody, body),
                qualification_id: demo_id(IdKind::Qualification, qualification),
                purpose,
                route,
                outcome,
                credits_granted,
                credit_system,
                target_programme: target.into(),
                conditions: conditions.into(),
                decided_at: day(decided),
                retracted_at: opt_day(retracted),
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn seeded_frameworks() -> HashMap<String, Framework> {
        #[derive(serde::Deserialize)]
        struct File {
            frameworks: Vec<Framework>,
        }
        let file: File = serde_json::from_str(migrations::FRAMEWORKS_JSON).unwrap();
        file.frameworks.into_iter().map(|f| (f.id.clone(), f)).collect()
    }

    #[test]
    fn demo_keys_are_deterministic_and_distinct() {
        let a = demo_signing_key("northbridge");
        assert_eq!(a.to_bytes(), demo_signing_key("northbridge").to_bytes());
        assert_ne!(a.to_bytes(), demo_signing_key("northbridge-2024").to_bytes());
        let expected: [u8; 32] = Sha256::digest(b"trust-registry demo key\0northbridge").into();
        assert_eq!(a.to_bytes(), expected);
        let providers = providers();
        let (_, keys) = &providers[0];
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].public_key, a.verifying_key().to_bytes());
        assert_eq!(keys[0].valid_until, Some(keys[1].valid_from));
    }

    #[test]
    fn ids_and_keys_are_unique_across_the_dataset() {
        let frameworks = seeded_frameworks();
        let mut ids: Vec<String> = Vec::new();
        let mut key_ids: Vec<String> = Vec::new();
        for (a, keys) in qa_agencies() {
            ids.push(a.id);
            key_ids.extend(keys.into_iter().map(|k| k.key_id));
        }
        for (b, keys) in recognition_bodies() {
            ids.push(b.id);
            key_ids.extend(keys.into_iter().map(|k| k.key_id));
        }
        for (p, keys) in providers() {
            ids.push(p.id);
            key_ids.extend(keys.into_iter().map(|k| k.key_id));
        }
        ids.extend(accreditations().into_iter().map(|(a, _)| a.id));
        ids.extend(qualifications(&frameworks).unwrap().into_iter().map(|q| q.id));
        ids.extend(recognitions().into_iter().map(|r| r.id));
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
        assert_eq!(key_ids.iter().collect::<HashSet<_>>().len(), key_ids.len());
        assert_eq!(ids.len(), 5 + 3 + 20 + ACCREDITATIONS.len() + 50 + 20);
    }

    #[test]
    fn the_dataset_is_consistent() {
        let frameworks = seeded_frameworks();
        let agencies = qa_agencies();
        let providers = providers();
        let accreditations = accreditations();
        let qualifications = qualifications(&frameworks).unwrap();
        let recognitions = recognitions();
        assert!(accreditations.len() >= 22);
        for kind in ProviderKind::ALL {
            assert!(providers.iter().any(|(p, _)| p.kind == *kind), "{kind}");
        }

        for (a, history) in &accreditations {
            let (provider, _) = providers.iter().find(|(p, _)| p.id == a.provider_id).unwrap();
            let (agency, _) = agencies.iter().find(|(g, _)| g.id == a.agency_id).unwrap();
            assert!(agency.operating_countries.contains(&provider.country), "{}", a.id);
            if a.decision.is_positive() {
                assert_eq!(history[0].effective_from, a.valid_from);
                assert!(
                    history
                        .windows(2)
                        .all(|w| w[0].effective_until == Some(w[1].effective_from))
                );
                assert_eq!(history.last().unwrap().effective_until, None);
            } else {
                assert!(history.is_empty());
            }
        }

        // The EQF level is copied from the framework data.
        let level = |slug: &str| {
            qualifications
                .iter()
                .find(|q| q.id == demo_id(IdKind::Qualification, slug))
                .unwrap()
                .eqf_level()
        };
        assert_eq!(level("nb-testing"), Some(6));
        assert_eq!(level("mt-bim"), None);
        assert_eq!(level("kc-freshwater"), None);
        assert_eq!(level("hv-barista"), Some(3));
        for framework in FRAMEWORK_IDS {
            assert!(
                qualifications
                    .iter()
                    .any(|q| q.level.as_ref().unwrap().framework_id == framework)
            );
        }

        for q in &qualifications {
            let provider = &providers.iter().find(|(p, _)| p.id == q.provider_id).unwrap().0;
            assert!(q.published_at >= provider.registered_at, "{}", q.id);
            for accreditation_id in &q.quality_assurance.accreditation_ids {
                let (a, _) = accreditations
                    .iter()
                    .find(|(a, _)| &a.id == accreditation_id)
                    .unwrap();
                assert_eq!(a.provider_id, q.provider_id, "{}", q.id);
                assert!(
                    a.valid_from <= q.published_at && q.published_at < a.effective_until(),
                    "{}",
                    q.id
                );
                if let (false, Some(eqf)) = (a.scope.eqf_levels.is_empty(), q.eqf_level()) {
                    assert!(a.scope.eqf_levels.contains(&eqf), "{}", q.id);
                }
                let s = &a.scope.fields_of_study;
                assert!(s.is_empty() || s.contains(&q.field_of_study), "{}", q.id);
            }
            for into in &q.stackability.stacks_into {
                assert!(qualifications.iter().any(|other| &other.id == into));
            }
        }
        let supervisions: HashSet<_> = qualifications.iter().map(|q| q.supervision).collect();
        assert_eq!(supervisions.len(), Supervision::ALL.len() + 1);
        let assessments: HashSet<_> = qualifications
            .iter()
            .flat_map(|q| q.assessment_types.clone())
            .collect();
        assert_eq!(assessments.len(), AssessmentType::ALL.len());

        for r in &recognitions {
            let q = qualifications
                .iter()
                .find(|q| q.id == r.qualification_id)
                .unwrap();
            assert!(r.decided_at >= q.published_at, "{}", r.id);
        }
        assert_eq!(
            recognitions
                .iter()
                .map(|r| r.purpose)
                .collect::<HashSet<_>>()
                .len(),
            RecognitionPurpose::ALL.len()
        );
        assert_eq!(
            recognitions.iter().map(|r| r.route).collect::<HashSet<_>>().len(),
            RecognitionRoute::ALL.len()
        );
        assert_eq!(
            recognitions
                .iter()
                .map(|r| r.outcome)
                .collect::<HashSet<_>>()
                .len(),
            RecognitionOutcome::ALL.len()
        );
        assert_eq!(
            recognitions.iter().filter(|r| r.retracted_at.is_some()).count(),
            1
        );
    }
}
