/**
 * The headless client's live terminal display (ink): where the client
 * stands in the run, its last loss, tokens/s, points and peers, redrawn on
 * every change of its RunView.
 */
import { Box, Text, render } from 'ink';
import { useEffect, useState } from 'react';
import { progressOf, type Progress, type ViewSource } from './progress';

export interface DisplayInfo {
  coordinator: string;
  adapter: string;
  leaving: boolean;
}

const short = (id: string | null) => (id ? `${id.slice(0, 8)}…` : '—');

export function ProgressView({ p, info }: { p: Progress; info: DisplayInfo }) {
  const statusColor = p.status === 'error' ? 'red' : p.status === 'training' ? 'green' : 'yellow';
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text>
        <Text bold>Tessera</Text> · {info.coordinator} · client {short(p.clientId)}
      </Text>
      <Text>GPU: {info.adapter || '(choosing)'}</Text>
      <Text>
        status: <Text color={statusColor}>{p.status}</Text>
        {info.leaving ? <Text color="yellow"> (leaving after this round; Ctrl-C again to exit now)</Text> : null} · phase {p.phase ?? '—'}
      </Text>
      <Text>
        epoch {p.epoch} · round {p.step} · applied {p.appliedStep} · checksum {p.checksum ?? '—'}
      </Text>
      <Text>
        loss {p.loss === null ? '—' : p.loss.toFixed(4)} · {p.tokensPerSec} tokens/s · points {p.points}
      </Text>
      <Text>
        members {p.members} · peers {p.peers.connected}/{p.peers.total} connected
      </Text>
      {p.error ? <Text color="red">error: {p.error}</Text> : null}
    </Box>
  );
}

function Live({ source, info }: { source: ViewSource; info: () => DisplayInfo }) {
  const [state, setState] = useState(() => ({ p: progressOf(source.state()), info: info() }));
  useEffect(() => source.subscribe(() => setState({ p: progressOf(source.state()), info: info() })), [source, info]);
  return <ProgressView p={state.p} info={state.info} />;
}

/** Draws the display until the returned function is called. */
export function showDisplay(source: ViewSource, info: () => DisplayInfo): () => void {
  const app = render(<Live source={source} info={info} />, { exitOnCtrlC: false });
  return () => app.unmount();
}
