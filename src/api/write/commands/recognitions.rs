//! Recognition decisions.

#![allow(non_snake_case)]

use super::*;

pub fn PublishRecognitionCommand(c: pb::PublishRecognitionCommand, cx: &Context<'_>) -> Result<Command> {
    let pb::PublishRecognitionCommand {
        header: _,
        qualification_id,
        purpose,
        route,
        outcome,
        credits_granted,
        credit_system,
        target_programme,
        conditions,
        decided_at,
    } = c;
    let decided_at = required_time("decided_at", decided_at)?;
    if decided_at > cx.issued_at {
        return Err(DomainError::invalid(
            "decided_at",
            "must not be after header.issued_at: only completed decisions are published",
        ));
    }
    let outcome: RecognitionOutcome = required_enum("outcome", outcome)?;
    let conditions = text("conditions", conditions, MAX_TEXT)?;
    if outcome == RecognitionOutcome::RecognisedWithConditions && conditions.trim().is_empty() {
        return Err(DomainError::invalid(
            "conditions",
            "is required when the outcome is RECOGNISED_WITH_CONDITIONS",
        ));
    }
    let credits_granted = amount("credits_granted", credits_granted)?;
    if outcome == RecognitionOutcome::Refused && credits_granted > 0.0 {
        return Err(DomainError::invalid(
            "credits_granted",
            "must be 0 when the outcome is REFUSED: a refusal grants no credit",
        ));
    }
    let credit_system = CreditSystem::from_pb("credit_system", credit_system)?;
    if credits_granted > 0.0 && credit_system.is_none() {
        return Err(DomainError::invalid(
            "credit_system",
            "is required when credits_granted is above 0: the credits must be of a named system",
        ));
    }
    Ok(Command::PublishRecognition(Recognition {
        id: cx.mint(IdKind::Recognition),
        body_id: String::new(),
        qualification_id: id(IdKind::Qualification, "qualification_id", qualification_id)?,
        purpose: required_enum("purpose", purpose)?,
        route: required_enum("route", route)?,
        outcome,
        credits_granted,
        credit_system,
        target_programme: text("target_programme", target_programme, MAX_NAME)?,
        conditions,
        decided_at,
        retracted_at: None,
    }))
}

pub fn RetractRecognitionCommand(c: pb::RetractRecognitionCommand, cx: &Context<'_>) -> Result<Command> {
    let pb::RetractRecognitionCommand {
        header: _,
        recognition_id,
        retracted_at,
        reason,
    } = c;
    Ok(Command::RetractRecognition {
        recognition_id: id(IdKind::Recognition, "recognition_id", recognition_id)?,
        retracted_at: time_or("retracted_at", retracted_at, cx.issued_at)?,
        reason: text("reason", reason, MAX_TEXT)?,
    })
}
