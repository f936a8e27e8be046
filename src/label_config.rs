//! Reading a project's labeling config (Label Studio's XML).

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// The key blob tasks are stored under until a labeling config names the real one.
pub const UNDEFINED_DATA_KEY: &str = "$undefined$";

/// Data variables (`value="$image"` → `image`) of tags that have a `name`, in document
/// order, without repeats. Label Studio renames `$undefined$` to the first one.
pub fn data_variables(config: &str) -> Vec<String> {
    data_types(config)
        .into_iter()
        .map(|(variable, _)| variable)
        .collect()
}

/// Each data variable with the tag that shows it (`("image", "Image")`): Label Studio's
/// project `data_types`.
pub fn data_types(config: &str) -> Vec<(String, String)> {
    let mut reader = Reader::from_str(config);
    let mut types: Vec<(String, String)> = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(tag) | Event::Empty(tag)) => {
                if let Some(variable) = tag_variable(&tag)
                    && !types.iter().any(|(known, _)| *known == variable)
                {
                    let name = tag.local_name().as_ref().to_owned();
                    types.push((variable, name));
                }
            }
            Ok(Event::Eof) | Err(_) => return types,
            Ok(_) => {}
        }
    }
}

/// The first data variable, if the config has one.
pub fn first_data_variable(config: &str) -> Option<String> {
    data_variables(config).into_iter().next()
}

fn tag_variable(tag: &BytesStart<'_>) -> Option<String> {
    let mut has_name = false;
    let mut variable = None;
    for attr in tag.attributes().flatten() {
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .ok()?;
        match attr.key.0 {
            "name" => has_name = true,
            "value" => variable = value.strip_prefix('$').map(str::to_owned),
            _ => {}
        }
    }
    variable.filter(|v| has_name && !v.is_empty())
}

/// A control tag of a labeling config: what annotators fill in (`<Choices name="quality"
/// toName="image">`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlTag {
    pub name: String,
    /// The tag, as written (`Choices`, `RectangleLabels`).
    pub tag: String,
    pub to_name: Vec<String>,
}

impl ControlTag {
    /// The result type Label Studio gives the tag's results (`choices`, `rectanglelabels`).
    pub fn result_type(&self) -> String {
        self.tag.to_ascii_lowercase()
    }
}

/// The control tags (tags with `name` and `toName`) in document order.
pub fn control_tags(config: &str) -> Vec<ControlTag> {
    let mut reader = Reader::from_str(config);
    let mut tags = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(tag) | Event::Empty(tag)) => {
                let attribute = |wanted: &str| {
                    tag.attributes()
                        .flatten()
                        .find(|a| a.key.0 == wanted)
                        .and_then(|a| {
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .ok()
                                .map(|v| v.into_owned())
                        })
                };
                if let (Some(name), Some(to_name)) = (attribute("name"), attribute("toName")) {
                    tags.push(ControlTag {
                        name,
                        tag: tag.local_name().as_ref().to_owned(),
                        to_name: to_name.split(',').map(|n| n.trim().to_owned()).collect(),
                    });
                }
            }
            Ok(Event::Eof) | Err(_) => return tags,
            Ok(_) => {}
        }
    }
}

/// Checks a labeling config as Label Studio does before saving it: well-formed XML under
/// one root, and every control's `toName` naming a tag of the config.
pub fn validate(config: &str) -> Result<(), String> {
    well_formed(config)?;
    let controls = control_tags(config);
    let names = tag_names(config);
    for control in &controls {
        if let Some(missing) = control.to_name.iter().find(|to| !names.contains(to)) {
            return Err(format!(
                "{} \"{}\" has toName=\"{missing}\", but no tag of the config is named \"{missing}\" \
                 (named tags: {}).",
                control.tag,
                control.name,
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ));
        }
    }
    Ok(())
}

/// The `name` of every tag that has one, in document order.
fn tag_names(config: &str) -> Vec<String> {
    let mut reader = Reader::from_str(config);
    let mut names = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(tag) | Event::Empty(tag)) => {
                let name = tag
                    .attributes()
                    .flatten()
                    .find(|a| a.key.0 == "name")
                    .and_then(|a| {
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .ok()
                            .map(|v| v.into_owned())
                    });
                names.extend(name);
            }
            Ok(Event::Eof) | Err(_) => return names,
            Ok(_) => {}
        }
    }
}

/// Checks that a labeling config is well-formed XML with a root element.
fn well_formed(config: &str) -> Result<(), String> {
    let mut reader = Reader::from_str(config);
    let mut depth: i64 = 0;
    let mut saw_root = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => {
                depth += 1;
                saw_root = true;
            }
            Ok(Event::Empty(_)) => saw_root = true,
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Eof) if depth == 0 && saw_root => return Ok(()),
            Ok(Event::Eof) if !saw_root => {
                return Err("The labeling config has no XML element; start with <View>.".to_owned());
            }
            Ok(Event::Eof) => return Err("The labeling config has an unclosed XML tag.".to_owned()),
            Err(err) => {
                return Err(format!(
                    "The labeling config is not valid XML (at byte {}): {err}",
                    reader.error_position()
                ));
            }
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"<View><Image name="image" value="$image"/><Text name="t" value="$text"/>
        <Choices name="choice" toName="image"><Choice value="cat"/></Choices></View>"#;

    #[test]
    fn finds_variables_in_document_order() {
        assert_eq!(data_variables(CONFIG), vec!["image", "text"]);
        assert_eq!(first_data_variable(CONFIG).as_deref(), Some("image"));
        assert_eq!(first_data_variable("<View></View>"), None);
        // a value without a name (Choice) is not a data variable
        assert_eq!(
            first_data_variable(r#"<View><Choice value="$x"/></View>"#),
            None
        );
    }

    #[test]
    fn finds_control_tags() {
        assert_eq!(
            control_tags(CONFIG),
            vec![ControlTag {
                name: "choice".into(),
                tag: "Choices".into(),
                to_name: vec!["image".into()]
            }]
        );
        assert_eq!(control_tags(CONFIG)[0].result_type(), "choices");
    }

    #[test]
    fn validates_xml() {
        assert!(validate(CONFIG).is_ok());
        assert!(validate("<View><Image></View>").is_err());
        assert!(validate("not xml").is_err());
        assert!(validate("<View>").is_err());
    }

    #[test]
    fn a_control_must_label_a_tag_of_the_config() {
        let error = validate(r#"<View><Image name="img" value="$image"/><RectangleLabels name="box" toName="image"><Label value="Car"/></RectangleLabels></View>"#)
            .unwrap_err();
        assert!(
            error.contains(r#"RectangleLabels "box" has toName="image""#),
            "{error}"
        );
        assert!(error.contains("named tags: img, box"), "{error}");
        // Names are compared as the XML means them, entities read.
        assert!(validate(r#"<View><Text name="a&amp;b" value="$t"/><Labels name="l" toName="a&amp;b"><Label value="X"/></Labels></View>"#).is_ok());
    }
}
