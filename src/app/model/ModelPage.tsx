/**
 * Model: the MLA presets and their parameter tensors under the Hugging Face
 * DeepseekV3 names our checkpoints use (docs/design.md §2), computed from the
 * config, and Try the model (TryModel.tsx), which falls back to wasm, so the
 * page works without WebGPU.
 */
import { useMemo, useState } from 'react';
import { PRESETS, PRESET_NAMES, hfConfigJson, numel, parameterCount, parameterSpecs, type ModelConfig, type PresetName } from '../../model/config';
import { formatCount, formatInt } from '../format';
import { HfDownload } from './HfDownload';
import { TryModel } from './TryModel';

/** Config fields in docs/design.md §2's order, with its short letters. */
const FIELDS: { key: keyof ModelConfig; letter?: string }[] = [
  { key: 'vocab_size', letter: 'V' },
  { key: 'hidden_size', letter: 'D' },
  { key: 'num_hidden_layers', letter: 'L' },
  { key: 'num_attention_heads', letter: 'H' },
  { key: 'q_lora_rank', letter: 'rq' },
  { key: 'kv_lora_rank', letter: 'rkv' },
  { key: 'qk_nope_head_dim', letter: 'dn' },
  { key: 'qk_rope_head_dim', letter: 'dr' },
  { key: 'v_head_dim', letter: 'dv' },
  { key: 'intermediate_size', letter: 'I' },
  { key: 'max_position_embeddings' },
  { key: 'rms_norm_eps' },
  { key: 'rope_theta' },
  { key: 'initializer_range' },
  { key: 'tie_word_embeddings' },
];

export function ModelPage() {
  const [selected, setSelected] = useState<PresetName>(PRESET_NAMES[0]);
  return (
    <section>
      <h2 className="page-title">Model</h2>
      <p className="page-lead">
        A Multi-head Latent Attention transformer with dense SwiGLU MLPs. Config fields and tensor names follow Hugging
        Face's <code>DeepseekV3Config</code>, so exported checkpoints load as <code>DeepseekV3ForCausalLM</code>.
      </p>
      <TryModel />
      <HfDownload />
      <PresetTable selected={selected} onSelect={setSelected} />
      <ParameterTable preset={selected} />
    </section>
  );
}

function PresetTable({ selected, onSelect }: { selected: PresetName; onSelect(name: PresetName): void }) {
  return (
    <div className="card">
      <h2>Presets</h2>
      <p className="small muted">Choose a preset to list its parameter tensors below.</p>
      <div className="table-wrap">
        <table className="data" data-testid="preset-table">
          <thead>
            <tr>
              <th>Field</th>
              {PRESET_NAMES.map((name) => (
                <th key={name} className={`num${name === selected ? ' selected-col' : ''}`}>
                  <button
                    type="button"
                    className={`small${name === selected ? ' primary' : ''}`}
                    aria-pressed={name === selected}
                    onClick={() => onSelect(name)}
                    data-testid={`preset-${name}`}
                  >
                    {name}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            <tr>
              <td>
                <strong>parameters</strong>
              </td>
              {PRESET_NAMES.map((name) => (
                <td key={name} className={`num${name === selected ? ' selected-col' : ''}`} title={formatInt(parameterCount(PRESETS[name]))}>
                  <strong>{formatCount(parameterCount(PRESETS[name]))}</strong>
                </td>
              ))}
            </tr>
            {FIELDS.map(({ key, letter }) => (
              <tr key={key}>
                <td>
                  <span className="mono">{key}</span>
                  {letter && <span className="muted small"> {letter}</span>}
                </td>
                {PRESET_NAMES.map((name) => (
                  <td key={name} className={`num mono${name === selected ? ' selected-col' : ''}`}>
                    {String(PRESETS[name][key])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function ParameterTable({ preset }: { preset: PresetName }) {
  const specs = useMemo(() => parameterSpecs(PRESETS[preset]), [preset]);
  const total = specs.reduce((n, s) => n + numel(s.shape), 0);
  return (
    <div className="card">
      <h2>
        Parameters of <span className="mono">{preset}</span>
      </h2>
      <p className="small muted">
        {specs.length} tensors, {formatInt(total)} parameters ({formatBytes(total * 4)} in float32).
      </p>
      <div className="table-wrap">
        <table className="data" data-testid="param-table">
          <thead>
            <tr>
              <th>Hugging Face name</th>
              <th>Shape</th>
              <th className="num">Count</th>
              <th className="num">Share</th>
              <th>Init</th>
            </tr>
          </thead>
          <tbody>
            {specs.map((s) => (
              <tr key={s.name}>
                <td className="mono small">{s.name}</td>
                <td className="mono small">[{s.shape.join(', ')}]</td>
                <td className="num">{formatInt(numel(s.shape))}</td>
                <td className="num muted">{((100 * numel(s.shape)) / total).toFixed(1)}%</td>
                <td className="small muted">{s.init === 'ones' ? 'ones' : `normal(0, ${PRESETS[preset].initializer_range})`}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <td>
                <strong>Total</strong>
              </td>
              <td />
              <td className="num" data-testid="param-total">
                <strong>{formatInt(total)}</strong>
              </td>
              <td />
              <td />
            </tr>
          </tfoot>
        </table>
      </div>
      <details>
        <summary className="small muted">config.json as exported</summary>
        <pre>
          <code>{JSON.stringify(hfConfigJson(PRESETS[preset]), null, 2)}</code>
        </pre>
      </details>
    </div>
  );
}

function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
}
