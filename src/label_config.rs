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
                    let name = text(tag.local_name().as_ref());
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

/// A tag or attribute name as text (the reader gives bytes; a config is UTF-8).
fn text(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

fn tag_variable(tag: &BytesStart<'_>) -> Option<String> {
    let mut has_name = false;
    let mut variable = None;
    for attr in tag.attributes().flatten() {
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .ok()?;
        match attr.key.0 {
            b"name" => has_name = true,
            b"value" => variable = value.strip_prefix('$').map(str::to_owned),
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
    elements(config)
        .into_iter()
        .filter_map(|e| {
            let (name, to_name) = (e.attribute("name")?, e.attribute("toName")?);
            Some(ControlTag {
                name: name.to_owned(),
                to_name: to_name.split(',').map(|n| n.trim().to_owned()).collect(),
                tag: e.tag,
            })
        })
        .collect()
}

/// One element of a config: its tag and attributes (entities read), and the name of the
/// control it sits in, if any.
struct Element {
    tag: String,
    attributes: Vec<(String, String)>,
    within: Option<String>,
}

impl Element {
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn element(tag: &BytesStart<'_>, within: Option<String>) -> Element {
    let attributes = tag
        .attributes()
        .flatten()
        .filter_map(|a| {
            let key = text(a.key.as_ref());
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()?
                .into_owned();
            Some((key, value))
        })
        .collect();
    Element {
        tag: text(tag.local_name().as_ref()),
        attributes,
        within,
    }
}

/// Every element in document order, each knowing the control (tag with `toName`) it is in.
fn elements(config: &str) -> Vec<Element> {
    let mut reader = Reader::from_str(config);
    let mut open: Vec<Option<String>> = Vec::new();
    let mut found = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(tag)) => {
                let el = element(&tag, open.iter().rev().flatten().next().cloned());
                let control = el
                    .attribute("toName")
                    .and(el.attribute("name"))
                    .map(str::to_owned);
                open.push(control);
                found.push(el);
            }
            Ok(Event::Empty(tag)) => {
                found.push(element(&tag, open.iter().rev().flatten().next().cloned()));
            }
            Ok(Event::End(_)) => {
                open.pop();
            }
            Ok(Event::Eof) | Err(_) => return found,
            Ok(_) => {}
        }
    }
}

/// Label Studio's `parsed_label_config`: each control by name with its type, targets, the
/// inputs those targets show, and its labels (the `Label` or `Choice` elements in it) with
/// their attributes.
pub fn parsed(config: &str) -> serde_json::Value {
    let all = elements(config);
    let controls = all
        .iter()
        .filter(|e| e.attribute("toName").is_some())
        .filter_map(|control| {
            Some((
                control.attribute("name")?.to_owned(),
                control_json(control, &all),
            ))
        })
        .collect();
    serde_json::Value::Object(controls)
}

/// One control of [`parsed`].
fn control_json(control: &Element, all: &[Element]) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let name = control.attribute("name");
    let named = |wanted: &str| {
        all.iter()
            .find(|e| e.attribute("name") == Some(wanted) && e.attribute("toName").is_none())
    };
    let to_name: Vec<&str> = control
        .attribute("toName")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .collect();
    let inputs: Vec<Value> = to_name
        .iter()
        .filter_map(|target| named(target))
        .map(|input| {
            json!({
                "type": input.tag,
                "valueType": input.attribute("valueType"),
                "value": input.attribute("value").unwrap_or_default().trim_start_matches('$'),
            })
        })
        .collect();
    let labels: Vec<&Element> = all
        .iter()
        .filter(|e| e.within.as_deref() == name && matches!(e.tag.as_str(), "Label" | "Choice"))
        .collect();
    let label_of = |e: &Element| {
        e.attribute("value")
            .or(e.attribute("alias"))
            .unwrap_or_default()
            .to_owned()
    };
    let attrs: Map<String, Value> = labels
        .iter()
        .map(|e| {
            (
                label_of(e),
                Value::Object(
                    e.attributes
                        .iter()
                        .map(|(k, v)| (k.clone(), json!(v)))
                        .collect(),
                ),
            )
        })
        .collect();
    json!({
        "type": control.tag, "to_name": to_name, "inputs": inputs,
        "labels": labels.iter().map(|e| label_of(e)).collect::<Vec<_>>(), "labels_attrs": attrs,
    })
}

/// A label of a control (`<Label value="Cat" category="3"/>` in `RectangleLabels`, or a
/// `Choice`), as the COCO and YOLO exports number them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelDef {
    /// The control's tag (`RectangleLabels`, `Choices`).
    pub control: String,
    /// Its `alias` when it has one, else its `value`.
    pub name: String,
    /// `category="N"`: the class id the user chose.
    pub category: Option<usize>,
    /// `model_index="N"`: a keypoint's slot.
    pub model_index: Option<usize>,
}

/// What the object-detection exports (COCO, YOLO) read from a config.
#[derive(Debug, Clone, Default)]
pub struct DetectionConfig {
    /// The data variable of the first `Image` (`image` for `value="$image"`).
    pub image_key: Option<String>,
    /// Every label of every control, in document order.
    pub labels: Vec<LabelDef>,
    /// Tags present in the config.
    pub tags: std::collections::BTreeSet<String>,
    /// Some object tag shows a list of images (`valueList`).
    pub multi_image: bool,
    /// How many data variables the object tags read.
    pub data_keys: usize,
}

/// Reads what [`DetectionConfig`] holds.
pub fn detection(config: &str) -> DetectionConfig {
    let all = elements(config);
    let number = |e: &Element, key: &str| e.attribute(key).and_then(|v| v.trim().parse().ok());
    let control_tag = |name: &str| {
        all.iter()
            .find(|e| e.attribute("name") == Some(name) && e.attribute("toName").is_some())
            .map(|e| e.tag.clone())
            .unwrap_or_default()
    };
    DetectionConfig {
        image_key: all
            .iter()
            .find(|e| e.tag == "Image")
            .and_then(|e| e.attribute("value"))
            .map(|v| v.trim_start_matches('$').to_owned()),
        labels: all
            .iter()
            .filter(|e| matches!(e.tag.as_str(), "Label" | "Choice"))
            .filter_map(|e| {
                Some(LabelDef {
                    control: control_tag(e.within.as_deref()?),
                    name: e.attribute("alias").or(e.attribute("value"))?.to_owned(),
                    category: number(e, "category"),
                    model_index: number(e, "model_index"),
                })
            })
            .collect(),
        tags: all.iter().map(|e| e.tag.clone()).collect(),
        multi_image: all.iter().any(|e| e.attribute("valueList").is_some()),
        data_keys: data_variables(config).len(),
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
    elements(config)
        .into_iter()
        .filter_map(|e| e.attribute("name").map(str::to_owned))
        .collect()
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
    fn parses_the_config_as_label_studio_does() {
        let config = r#"<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
    <Label value="Cat"/><Label value="Dog" background="blue"/>
  </RectangleLabels>
  <Choices name="quality" toName="image"><Choice value="good"/><Choice value="bad"/></Choices>
  <TextArea name="note" toName="image"/>
</View>"#;
        let parsed = parsed(config);
        assert_eq!(
            parsed["label"],
            serde_json::json!({"type": "RectangleLabels", "to_name": ["image"],
                "inputs": [{"type": "Image", "valueType": null, "value": "image"}],
                "labels": ["Cat", "Dog"],
                "labels_attrs": {"Cat": {"value": "Cat"}, "Dog": {"value": "Dog", "background": "blue"}}})
        );
        assert_eq!(
            parsed["quality"]["labels"],
            serde_json::json!(["good", "bad"])
        );
        assert_eq!(parsed["note"]["labels"], serde_json::json!([]));
        assert_eq!(parsed.as_object().unwrap().len(), 3);
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
