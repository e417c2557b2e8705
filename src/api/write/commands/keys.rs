//! Signing keys of the registry's actors.

#![allow(non_snake_case)]

use super::*;

pub fn AddKeyCommand(c: pb::AddKeyCommand, cx: &Context<'_>) -> Result<Command> {
    let pb::AddKeyCommand {
        header: _,
        actor_id,
        key: spec,
    } = c;
    let spec = spec.ok_or_else(|| DomainError::invalid("key", "is required"))?;
    Ok(Command::AddKey {
        actor_id: optional_actor("actor_id", actor_id)?,
        key: key("key", spec, cx.issued_at)?,
    })
}

pub fn RotateKeyCommand(c: pb::RotateKeyCommand, cx: &Context<'_>) -> Result<Command> {
    let pb::RotateKeyCommand {
        header: _,
        actor_id,
        old_key_id,
        new_key,
        rotate_at,
    } = c;
    let rotate_at = time_or("rotate_at", rotate_at, cx.issued_at)?;
    let spec = new_key.ok_or_else(|| DomainError::invalid("new_key", "is required"))?;
    let mut new_key = key(
        "new_key",
        pb::KeySpec {
            valid_from: None,
            ..spec
        },
        rotate_at,
    )?;
    new_key.valid_from = rotate_at;
    Ok(Command::RotateKey {
        actor_id: optional_actor("actor_id", actor_id)?,
        old_key_id: required_text("old_key_id", old_key_id, 64)?,
        new_key,
        rotate_at,
    })
}

pub fn RevokeKeyCommand(c: pb::RevokeKeyCommand, cx: &Context<'_>) -> Result<Command> {
    let pb::RevokeKeyCommand {
        header: _,
        actor_id,
        key_id,
        revoked_at,
        reason,
    } = c;
    Ok(Command::RevokeKey {
        actor_id: optional_actor("actor_id", actor_id)?,
        key_id: required_text("key_id", key_id, 64)?,
        revoked_at: time_or("revoked_at", revoked_at, cx.issued_at)?,
        reason: required_text("reason", reason, MAX_TEXT)?,
    })
}
