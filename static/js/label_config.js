// Reading a labeling config in the browser (the data it shows, the controls that label it)
// and Label Studio's ready-made templates.

/** Label Studio's common templates, by group; `sample` is data the preview shows when the
 * project has no task yet. */
const PIXEL = 'data:image/svg+xml;utf8,' + encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="420">'
  + '<rect width="640" height="420" fill="#cfe3f4"/><circle cx="220" cy="210" r="110" fill="#e2a14a"/>'
  + '<rect x="380" y="120" width="180" height="170" fill="#5a8f4e"/></svg>');
const SAMPLE_TEXT = 'Ada Lovelace worked with Charles Babbage in London on the Analytical Engine.';
const SILENCE = `data:audio/wav;base64,${btoa(silentWav(8000, 1))}`;

/** A valid WAV file of `seconds` of silence (8-bit mono), as a binary string. */
function silentWav(rate, seconds) {
  const samples = rate * seconds;
  const word = (n) => String.fromCharCode(n & 255, (n >> 8) & 255);
  const long = (n) => word(n) + word(n >>> 16);
  return `RIFF${long(36 + samples)}WAVEfmt ${long(16)}${word(1)}${word(1)}${long(rate)}${long(rate)}${word(1)}${word(8)}`
    + `data${long(samples)}${String.fromCharCode(128).repeat(samples)}`;
}

export const TEMPLATES = [
  { id: 'image', group: 'Computer Vision', title: 'Image classification', sample: { image: PIXEL }, xml: `<View>
  <Image name="image" value="$image"/>
  <Choices name="choice" toName="image">
    <Choice value="Cat"/>
    <Choice value="Dog"/>
  </Choices>
</View>` },
  { id: 'bbox', group: 'Computer Vision', title: 'Object detection with bounding boxes', sample: { image: PIXEL }, xml: `<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
    <Label value="Airplane" background="green"/>
    <Label value="Car" background="blue"/>
  </RectangleLabels>
</View>` },
  { id: 'polygon', group: 'Computer Vision', title: 'Semantic segmentation with polygons', sample: { image: PIXEL }, xml: `<View>
  <Header value="Select a label and click the image to start"/>
  <Image name="image" value="$image" zoom="true"/>
  <PolygonLabels name="label" toName="image" strokeWidth="3" pointSize="small" opacity="0.9">
    <Label value="Airplane" background="red"/>
    <Label value="Car" background="blue"/>
  </PolygonLabels>
</View>` },
  { id: 'brush', group: 'Computer Vision', title: 'Semantic segmentation with masks', sample: { image: PIXEL }, xml: `<View>
  <Image name="image" value="$image" zoom="true"/>
  <BrushLabels name="tag" toName="image">
    <Label value="Airplane" background="rgba(255, 0, 0, 0.7)"/>
    <Label value="Car" background="rgba(0, 0, 255, 0.7)"/>
  </BrushLabels>
</View>` },
  { id: 'keypoints', group: 'Computer Vision', title: 'Keypoint labeling', sample: { image: PIXEL }, xml: `<View>
  <KeyPointLabels name="kp" toName="image">
    <Label value="Face" background="red"/>
    <Label value="Nose" background="green"/>
  </KeyPointLabels>
  <Image name="image" value="$image"/>
</View>` },
  { id: 'caption', group: 'Computer Vision', title: 'Image captioning', sample: { image: PIXEL }, xml: `<View>
  <Image name="image" value="$image"/>
  <TextArea name="caption" toName="image" placeholder="Describe the image"/>
</View>` },
  { id: 'ner', group: 'Natural Language Processing', title: 'Named entity recognition', sample: { text: SAMPLE_TEXT }, xml: `<View>
  <Labels name="label" toName="text">
    <Label value="PER" background="red"/>
    <Label value="ORG" background="darkorange"/>
    <Label value="LOC" background="orange"/>
    <Label value="MISC" background="green"/>
  </Labels>
  <Text name="text" value="$text"/>
</View>` },
  { id: 'text', group: 'Natural Language Processing', title: 'Text classification', sample: { text: SAMPLE_TEXT }, xml: `<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/>
    <Choice value="Negative"/>
    <Choice value="Neutral"/>
  </Choices>
</View>` },
  { id: 'transcription', group: 'Audio/Speech Processing', title: 'Audio transcription', sample: { audio: SILENCE }, xml: `<View>
  <Header value="Listen to the audio"/>
  <Audio name="audio" value="$audio"/>
  <Header value="Write the transcription"/>
  <TextArea name="transcription" toName="audio" rows="4" editable="true" maxSubmissions="1"/>
</View>` },
];

/** Parses the XML; throws an Error with a readable message when it is not valid. Objects
 * are the named tags that show task data (`value="$image"`) and headers; controls are the
 * tags that label an object (`toName`). */
export function parseConfig(xml) {
  const doc = new DOMParser().parseFromString(xml || '<View></View>', 'application/xml');
  const error = doc.querySelector('parsererror');
  if (error) throw new Error(`The labeling config is not valid XML: ${error.textContent.split('\n')[0]}`);
  const objects = [];
  const controls = [];
  for (const el of doc.getElementsByTagName('*')) {
    const value = el.getAttribute('value') || '';
    const name = el.getAttribute('name');
    if (el.getAttribute('toName')) {
      controls.push({ tag: el.tagName, name, toName: el.getAttribute('toName') });
    } else if (name && variableOf(value)) {
      objects.push({ tag: el.tagName, name, value, variable: variableOf(value) });
    } else if (el.tagName === 'Header' && value) {
      objects.push({ tag: 'Header', value });
    }
  }
  return { objects, controls };
}

function variableOf(value) {
  return value.startsWith('$') ? value.slice(1) : null;
}

/** The data keys the Data Manager shows as columns, with the tag that shows them. */
export function dataColumns(xml) {
  try {
    return parseConfig(xml).objects.filter((o) => o.variable).map((o) => ({ key: o.variable, tag: o.tag }));
  } catch {
    return [];
  }
}
