/**
 * Download for Hugging Face: the run's latest checkpoint as a model folder
 * (GET /api/checkpoint/latest/hf, a tar) that transformers loads as it is.
 */
import { coordinatorOrigin } from '../../run-client/tab-run';

export function HfDownload() {
  const href = new URL('/api/checkpoint/latest/hf', coordinatorOrigin()).href;
  return (
    <div className="card">
      <h2>Download for Hugging Face</h2>
      <p className="small muted">
        The run’s latest checkpoint as a folder: <code>model.safetensors</code>, <code>config.json</code>,{' '}
        <code>generation_config.json</code> and the dataset’s tokenizer files. Unpack it and load both with{' '}
        <code>AutoModelForCausalLM.from_pretrained(folder)</code> and <code>AutoTokenizer.from_pretrained(folder)</code>.
      </p>
      <a className="button" href={href} download data-testid="hf-download">
        Download the latest checkpoint (.tar)
      </a>
    </div>
  );
}
