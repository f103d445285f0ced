// ONNX Runtime side of bench/inference.py: times predict_proba of one ONNX
// model with onnxruntime-node, the way bench/inference_bench.cc times ark.
//
//   node bench/ort/run.js MODEL.onnx ROWS.f64 N_FEATURES THREADS SINGLE_CALLS BATCH_REPS [BATCH_ROWS]
//
// ROWS.f64: row-major float64 rows (the same file the ark bench reads); they
// are cast to float32, the input type of the converted models. Single-row
// latency: the first row, SINGLE_CALLS calls, each timed. Throughput: the
// first BATCH_ROWS rows (default: all) in one call, BATCH_REPS times.
// Prints one JSON object: {"single_us": [...], "batch_s": [...], "rows": n}.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, rowsPath, nfArg, threadsArg, singleArg, repsArg, batchArg] = process.argv.slice(2);
  const nFeatures = Number(nfArg);
  const threads = Number(threadsArg);
  const singleCalls = Number(singleArg);
  const batchReps = Number(repsArg);
  const buf = fs.readFileSync(rowsPath);
  const f64 = new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
  const totalRows = f64.length / nFeatures;
  const rows = batchArg ? Math.min(Number(batchArg), totalRows) : totalRows;
  const x = Float32Array.from(f64.subarray(0, rows * nFeatures));

  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const inputName = session.inputNames[0];
  const outputName = session.outputNames.includes('probabilities') ? 'probabilities'
                                                                   : session.outputNames[1];
  const one = new ort.Tensor('float32', x.slice(0, nFeatures), [1, nFeatures]);
  const batch = new ort.Tensor('float32', x, [rows, nFeatures]);
  // Runs the whole graph (label and probabilities), as the converted model is
  // meant to be used.
  const run = (t) => session.run({[inputName]: t});

  // Warm up both shapes.
  for (let i = 0; i < 5; ++i) await run(one);
  await run(batch);

  const single = [];
  for (let i = 0; i < singleCalls; ++i) {
    const t0 = process.hrtime.bigint();
    await run(one);
    single.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  const batchS = [];
  let probabilities = null;
  for (let i = 0; i < batchReps; ++i) {
    const t0 = process.hrtime.bigint();
    const out = await run(batch);
    batchS.push(Number(process.hrtime.bigint() - t0) / 1e9);
    probabilities = out[outputName];
  }
  const first = Array.from(probabilities.data.slice(0, 4));
  process.stdout.write(JSON.stringify({single_us: single, batch_s: batchS, rows, first}) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
