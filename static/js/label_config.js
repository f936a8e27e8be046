// Reading a labeling config in the browser: the data objects to show and the controls
// (Choices, TextArea) the labeling form is built from; plus the ready-made templates.

const OBJECT_TAGS = ['Image', 'Text', 'HyperText', 'Audio', 'AudioPlus', 'Video', 'Header'];

export const TEMPLATES = [
  {
    id: 'image',
    title: 'Image classification',
    xml: `<View>
  <Image name="image" value="$image"/>
  <Choices name="choice" toName="image">
    <Choice value="Cat"/>
    <Choice value="Dog"/>
  </Choices>
</View>`,
  },
  {
    id: 'text',
    title: 'Text classification',
    xml: `<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/>
    <Choice value="Negative"/>
    <Choice value="Neutral"/>
  </Choices>
</View>`,
  },
  {
    id: 'caption',
    title: 'Image captioning',
    xml: `<View>
  <Image name="image" value="$image"/>
  <TextArea name="caption" toName="image" placeholder="Describe the image"/>
</View>`,
  },
];

/** Parses the XML; throws an Error with a readable message when it is not valid. */
export function parseConfig(xml) {
  const doc = new DOMParser().parseFromString(xml || '<View></View>', 'application/xml');
  const error = doc.querySelector('parsererror');
  if (error) throw new Error(`The labeling config is not valid XML: ${error.textContent.split('\n')[0]}`);
  const objects = [];
  const controls = [];
  for (const el of doc.getElementsByTagName('*')) {
    const value = el.getAttribute('value') || '';
    if (OBJECT_TAGS.includes(el.tagName) && el.getAttribute('name')) {
      objects.push({ tag: el.tagName, name: el.getAttribute('name'), value, variable: variableOf(value) });
    } else if (el.tagName === 'Header' && value) {
      objects.push({ tag: 'Header', value });
    } else if (el.tagName === 'Choices') {
      controls.push({
        tag: 'Choices',
        name: el.getAttribute('name'),
        toName: el.getAttribute('toName'),
        multiple: el.getAttribute('choice') === 'multiple',
        required: el.getAttribute('required') === 'true',
        options: [...el.getElementsByTagName('Choice')].map((c) => c.getAttribute('value') || c.getAttribute('alias')),
      });
    } else if (el.tagName === 'TextArea') {
      controls.push({
        tag: 'TextArea',
        name: el.getAttribute('name'),
        toName: el.getAttribute('toName'),
        placeholder: el.getAttribute('placeholder') || '',
        required: el.getAttribute('required') === 'true',
      });
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
