//! Qualifications frameworks and their levels.

use super::*;

impl From<Framework> for pb::Framework {
    fn from(f: Framework) -> Self {
        let Framework {
            id,
            code,
            title,
            jurisdiction,
            uri,
            is_eqf,
            referencing,
            referencing_note,
            sources,
            levels,
        } = f;
        Self {
            id,
            code,
            title,
            jurisdiction,
            uri: uri.unwrap_or_default(),
            is_eqf,
            referencing: pb::ReferencingStatus::from(referencing).into(),
            referencing_note,
            sources: sources
                .into_iter()
                .map(
                    |Source {
                         title,
                         publisher,
                         year,
                         url,
                     }| pb::Source {
                        title,
                        publisher,
                        year: year.unwrap_or(0),
                        url,
                    },
                )
                .collect(),
            levels: levels
                .into_iter()
                .map(
                    |FrameworkLevel {
                         code,
                         ordinal,
                         title,
                         award_types,
                         description,
                         eqf_level,
                         note,
                     }| {
                        pb::FrameworkLevel {
                            code,
                            ordinal,
                            title,
                            award_types,
                            description: description.unwrap_or_default(),
                            eqf_level: eqf_level.map(u32::from),
                            note: note.unwrap_or_default(),
                        }
                    },
                )
                .collect(),
        }
    }
}
