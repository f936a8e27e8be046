//! Predictions as clients send them, read into what is stored: a result in any form Label
//! Studio accepts (a list of regions; one region's value as an object; a bare choice, rating
//! or number), a score and a model version. Shared by the predictions API, prediction import
//! and task files, so the three read a prediction the same way.

use serde_json::{Map, Value, json};

use crate::db::predictions::NewPrediction;
use crate::label_config::ControlTag;

/// The model version a prediction gets when it names none: Label Studio writes `undefined`
/// for imported predictions and an empty string for ones created one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultVersion {
    Undefined,
    Empty,
}

/// Why a prediction was refused: the field and what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub field: &'static str,
    pub message: String,
}

fn refused(field: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        field,
        message: message.into(),
    }
}

/// Reads a prediction object. `controls` are the project's control tags, used to turn a
/// short result into regions; without them only a list of regions is taken.
pub fn from_object(
    object: &Map<String, Value>,
    controls: &[ControlTag],
    default_version: DefaultVersion,
) -> Result<NewPrediction, Refused> {
    let result = match object.get("result") {
        None | Some(Value::Null) => return Err(refused("result", "This field is required.")),
        Some(result) => normalize_result(result, controls)?,
    };
    let score = score_of(object.get("score"))?;
    let model_version = match object.get("model_version") {
        None => match default_version {
            DefaultVersion::Undefined => "undefined".to_owned(),
            DefaultVersion::Empty => String::new(),
        },
        Some(Value::String(version)) => version.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(refused("model_version", "Not a valid string.")),
    };
    Ok(NewPrediction {
        result: result.to_string(),
        score,
        model_version,
    })
}

/// A prediction's score: a number (or a number's text), or none.
pub fn score_of(value: Option<&Value>) -> Result<Option<f64>, Refused> {
    let wrong = || refused("score", "A valid number is required.");
    let score = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64().ok_or_else(wrong)?,
        Some(Value::String(s)) => s.trim().parse::<f64>().map_err(|_| wrong())?,
        Some(_) => return Err(wrong()),
    };
    if score.is_finite() {
        Ok(Some(score))
    } else {
        Err(wrong())
    }
}

/// Label Studio's result forms, as a list of regions.
fn normalize_result(result: &Value, controls: &[ControlTag]) -> Result<Value, Refused> {
    match result {
        Value::Array(items) => {
            if items.iter().all(Value::is_object) {
                Ok(result.clone())
            } else {
                Err(refused("result", "Each item in prediction result should be dict"))
            }
        }
        // One region's value: it goes to the first control whose result type it names.
        Value::Object(value) => controls
            .iter()
            .find(|tag| value.contains_key(&tag.result_type()))
            .map(|tag| region(tag, result.clone()))
            .ok_or_else(|| {
                refused(
                    "result",
                    "The result names no control of the labeling config: send a list of regions, or a value keyed by a control's type (e.g. {\"choices\": [\"cat\"]}).",
                )
            }),
        // A bare choice, rating or number: the first control taking that kind of value.
        Value::String(_) | Value::Number(_) | Value::Bool(_) => controls
            .iter()
            .find(|tag| takes_single_value(&tag.result_type(), result))
            .map(|tag| region(tag, json!({ tag.result_type(): [result] })))
            .ok_or_else(|| {
                refused(
                    "result",
                    format!("No control of the labeling config takes {result} as its value (Choices, TextArea, Rating or Number)."),
                )
            }),
        Value::Null => Err(refused("result", "This field may not be null.")),
    }
}

fn region(tag: &ControlTag, value: Value) -> Value {
    json!([{
        "from_name": tag.name,
        "to_name": tag.to_name.join(","),
        "type": tag.result_type(),
        "value": value,
    }])
}

/// Label Studio's single-valued controls and the Python type each takes.
fn takes_single_value(result_type: &str, value: &Value) -> bool {
    match result_type {
        "choices" | "textarea" => value.is_string(),
        "rating" => value.is_i64() || value.is_u64() || value.is_boolean(),
        "number" => value.is_f64(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controls() -> Vec<ControlTag> {
        crate::label_config::control_tags(
            r#"<View><Image name="image" value="$image"/>
               <RectangleLabels name="label" toName="image"><Label value="Cat"/></RectangleLabels>
               <Choices name="quality" toName="image"><Choice value="good"/></Choices></View>"#,
        )
    }

    fn read(value: Value) -> Result<NewPrediction, Refused> {
        from_object(
            value.as_object().unwrap(),
            &controls(),
            DefaultVersion::Undefined,
        )
    }

    #[test]
    fn short_results_become_regions() {
        let p = read(json!({"result": "good", "score": 0.5})).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&p.result).unwrap(),
            json!([{"from_name": "quality", "to_name": "image", "type": "choices", "value": {"choices": ["good"]}}])
        );
        assert_eq!(
            (p.score, p.model_version.as_str()),
            (Some(0.5), "undefined")
        );
        let p =
            read(json!({"result": {"rectanglelabels": ["Cat"], "x": 1}, "model_version": "v2"}))
                .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&p.result).unwrap()[0]["from_name"],
            "label"
        );
        assert_eq!(p.model_version, "v2");
    }

    #[test]
    fn what_cannot_be_read_is_refused_by_field() {
        assert_eq!(read(json!({})).unwrap_err().field, "result");
        assert_eq!(read(json!({"result": [1]})).unwrap_err().field, "result");
        assert_eq!(read(json!({"result": 3})).unwrap_err().field, "result");
        assert_eq!(
            read(json!({"result": [], "score": "high"}))
                .unwrap_err()
                .field,
            "score"
        );
    }
}
