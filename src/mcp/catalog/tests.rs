use super::*;

/// The 41 names of the sidecar we replace (contract section 6), written out by hand.
const CONTRACT: &str = "health_check \
    list_notes get_note create_note update_note patch_note delete_note archive_note process_note \
    list_tasks get_task create_task update_task patch_task delete_task archive_task process_task \
    list_comments get_comment create_comment update_comment patch_comment delete_comment archive_comment process_comment \
    list_chats get_chat create_chat update_chat patch_chat delete_chat archive_chat process_chat \
    list_chat_messages get_chat_message create_chat_message update_chat_message patch_chat_message \
    delete_chat_message archive_chat_message process_chat_message";

/// What the current generation adds (contract section 7.6), written out by hand.
const CURRENT_ONLY: &str = "\
    list_task_lists get_task_list create_task_list update_task_list patch_task_list delete_task_list \
    archive_task_list process_task_list list_task_list_categories get_task_list_category \
    create_task_list_category update_task_list_category patch_task_list_category \
    delete_task_list_category archive_task_list_category process_task_list_category";

fn set(names: &[String]) -> std::collections::BTreeSet<&str> {
    names.iter().map(String::as_str).collect()
}

#[test]
fn seed_names_equal_the_contract_and_current_adds_the_two_entities() {
    let seed = tool_names(Generation::Seed);
    assert_eq!(seed.len(), set(&seed).len(), "unique");
    let mut contract: std::collections::BTreeSet<_> = CONTRACT.split_whitespace().collect();
    // The sidecar's 41, plus the edit review of the views (issue 16).
    contract.extend(REVIEW_TOOLS);
    assert_eq!(set(&seed), contract);
    let current = tool_names(Generation::Current);
    assert_eq!(current.len(), set(&current).len(), "unique");
    let mut want = contract.clone();
    want.extend(CURRENT_ONLY.split_whitespace());
    assert_eq!(set(&current), want);
}

#[test]
fn create_fields_match_the_contract_parameters() {
    let want = [
        ("note", "title content tags additional_fields"),
        (
            "task",
            "title description status priority due_date task_list_uid tags additional_fields",
        ),
        (
            "comment",
            "content parent_type parent_uid author tags additional_fields",
        ),
        (
            "chat",
            "title description participants archived tags additional_fields",
        ),
        (
            "chat_message",
            "chat_uid content sender message_type tags additional_fields",
        ),
    ];
    for (entity, fields) in want {
        let e = ENTITIES.iter().find(|e| e.singular == entity).unwrap();
        let got: Vec<_> = e.create.iter().map(|f| f.name).collect();
        assert_eq!(got.join(" "), fields, "{entity}");
    }
}

#[test]
fn instructions_name_every_offered_entity() {
    let seed = instructions(Generation::Seed, true);
    assert!(seed.contains("chat messages"), "{seed}");
    assert!(!seed.contains("task list"), "{seed}");
    let current = instructions(Generation::Current, false);
    for e in &ENTITIES {
        assert!(current.contains(e.label_plural), "{current}");
    }
}
