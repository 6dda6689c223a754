// Render DOT to SVG with Graphviz compiled to WebAssembly, where Graphviz's
// `dot` is not installed (how docs/*.svg were drawn; legoc itself never
// needs node):
//
//     npm install @hpcc-js/wasm-graphviz
//     legoc graph examples/unet.lego --input 3,256,256 --depth 2 --format dot | node docs/render-dot.mjs docs/unet.svg
//
// With Graphviz installed, `legoc graph ... -o docs/unet.svg` draws the same.
import { Graphviz } from "@hpcc-js/wasm-graphviz";
import fs from "node:fs";

const graphviz = await Graphviz.load();
fs.writeFileSync(process.argv[2], graphviz.dot(fs.readFileSync(0, "utf8"), "svg"));
