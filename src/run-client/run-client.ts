/**
 * A tab in the run (docs/run.md): it catches up from the epoch checkpoint,
 * joins, and then, round by round, trains its assigned range, commits and
 * shares the update, witnesses what it holds, and applies the agreed set.
 * It lives on the page (the socket and the WebRTC mesh cannot live in a
 * worker) and does no heavy work itself: the GPU work is the run worker's.
 *
 * This class wires the coordinator's socket, the peer mesh and the worker
 * link to the parts: the payload inbox, the replica's catch-up, the round
 * duties and the view. Every GPU request goes through one WorkChain.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { PeerMesh, type PeerMeshOptions } from '../net/peer-mesh';
import type { KeyPair } from '../protocol/commitment';
import type { RunConfig } from '../run/run-config';
import type { Round, RunState } from '../run/types';
import type { CatchUpSource } from './catch-up';
import { CoordinatorSocket } from './coordinator-socket';
import { MeshGossip } from './mesh-gossip';
import { MeshTopology } from './mesh-topology';
import { PayloadInbox } from './payload-inbox';
import { PayloadStoreClient } from './payload-store-client';
import { ModelDoesNotFit, ReplicaSync } from './replica-sync';
import { RoundDuties } from './round-duties';
import type { RunMessage, RunMessageOf } from './state-receiver';
import { appendBounded, RunViewStore, TIMELINE_MAX, type RunView } from './run-view';
import { meteredWorker, Utilization } from './utilization';
import { WorkChain } from './work-chain';
import type { RunWorkerLink } from './worker-link';

export type { ClientStatus, RunView } from './run-view';

export interface RunClientOptions {
  /** ws(s)://host/ws */
  socketUrl: string;
  identity: KeyPair;
  worker: RunWorkerLink;
  catchUp: CatchUpSource;
  /** How long to wait for a payload from the relay before witnessing without it. */
  relayTimeoutMs?: number;
  /** The GPU memory this tab may use, in bytes (DEFAULT_GPU_MEMORY unless the volunteer set it). */
  gpuMemory?: number;
  /** Makes WebRTC connections; the browser's by default, node-datachannel's in the headless client. */
  createPeer?: PeerMeshOptions['createPeer'];
}

/** The GPU memory a tab may use unless its volunteer says otherwise: what a laptop GPU can spare. */
export const DEFAULT_GPU_MEMORY = 2 * 2 ** 30;

export class RunClient {
  private readonly socket: CoordinatorSocket;
  private readonly id: string;
  private mesh: PeerMesh | null = null;
  private config: RunConfig | null = null;
  private server: RunState | null = null;
  private wantJoin = false;
  private gpuMemory: number;
  private meshBytesReceived = 0;
  /** Set by leaveAtRoundBoundary: resolves once the client has left. */
  private leaving: { done: Promise<void>; resolve: () => void } | null = null;
  private readonly view: RunViewStore;
  private readonly chain = new WorkChain((err) => this.fail(err));
  private readonly inbox: PayloadInbox;
  private readonly payloads: PayloadStoreClient;
  private readonly replica: ReplicaSync;
  private readonly duties: RoundDuties;
  private readonly utilization = new Utilization();
  /** The partial mesh (docs/design.md §11): which peers this tab links to, and forwarding between them. */
  private readonly topology: MeshTopology;
  private readonly gossip: MeshGossip;

  constructor(private readonly opts: RunClientOptions) {
    this.id = bytesToHex(opts.identity.publicKey);
    this.gpuMemory = opts.gpuMemory ?? DEFAULT_GPU_MEMORY;
    this.view = new RunViewStore(this.id, () => ({
      id: this.id,
      config: this.config,
      server: this.server,
      checksum: this.replica.checksum,
      appliedStep: this.replica.appliedStep,
      peers: this.mesh ? this.mesh.peers().map((id) => ({ id, state: this.mesh!.state(id) })) : [],
      bytesSent: this.socket.bytesSent + this.duties.meshBytesSent + this.gossip.bytesForwarded + this.payloads.bytesSent,
      bytesReceived: this.socket.bytesReceived + this.meshBytesReceived + this.payloads.bytesReceived,
      tokens: this.duties.tokens,
      trainMs: this.duties.trainMs,
      utilization: this.utilization.measure(Date.now()),
      payloadsFrom: { ...this.gossip.payloadsFrom },
    }));
    this.socket = new CoordinatorSocket(opts.socketUrl, opts.identity, {
      open: () => this.view.update({ status: this.wantJoin ? 'catching-up' : 'connecting', error: null }),
      close: (reason) => this.view.update({ status: this.wantJoin ? 'reconnecting' : 'left', error: this.wantJoin ? reason : null }),
      message: (msg) => this.receive(msg),
      relayData: (hash, payload) => this.gotPayload(hash, payload, 'relay'),
    });
    this.payloads = new PayloadStoreClient({ send: (msg) => this.socket.send(msg), deliver: (hash, bytes) => this.gotPayload(hash, bytes, 'bucket') });
    this.topology = new MeshTopology({ id: this.id, mesh: () => this.mesh, config: () => this.config });
    this.inbox = new PayloadInbox((hash) => this.payloads.ask(hash), opts.relayTimeoutMs, () => this.gossip.storeDelayMs());
    this.gossip = new MeshGossip({ id: this.id, mesh: () => this.mesh, server: () => this.server, inbox: this.inbox, partial: () => this.topology.partial() });
    const config = () => this.need();
    const server = () => this.server;
    const worker = meteredWorker(opts.worker, (kind, ms) => this.utilization.add(kind, ms, Date.now()));
    this.replica = new ReplicaSync({ worker, source: opts.catchUp, view: this.view, config, server });
    this.duties = new RoundDuties({
      id: this.id,
      identity: opts.identity,
      worker,
      source: opts.catchUp,
      socket: this.socket,
      mesh: () => (this.mesh ? this.gossip : null),
      inbox: this.inbox,
      replica: this.replica,
      view: this.view,
      config,
      server,
      enqueue: (work) => this.chain.enqueue(work),
      viaBucket: () => this.payloads.kind === 'bucket',
    });
  }

  /** The GPU memory this tab may use from its next load on (the plan is made then). */
  setGpuMemory(bytes: number): void {
    if (!Number.isFinite(bytes) || bytes < 1) throw new RangeError(`GPU memory must be a positive number of bytes, got ${bytes}`);
    this.gpuMemory = Math.floor(bytes);
  }

  /** Connects, catches up and asks to train from the next round. */
  join(): void {
    if (this.wantJoin) return;
    this.wantJoin = true;
    this.duties.start();
    this.view.update({ status: 'connecting', error: null });
    this.socket.open();
  }

  leave(): void {
    this.leaving?.resolve();
    this.leaving = null;
    if (!this.wantJoin) return;
    this.wantJoin = false;
    this.duties.stop();
    this.socket.send({ type: 'leave' });
    this.socket.close();
    this.mesh?.destroy();
    this.mesh = null;
    this.view.update({ status: 'left', peers: [] });
  }

  /**
   * Leaves once the round in flight is agreed and applied, so the run keeps
   * this client's update and the replica stands at a round's end (what a
   * resume record holds). Trains no round after it. At once when this client
   * holds no slot of a round in flight. Pipelined, the next round starts
   * when this one's commits close: the client leaves then (the run must not
   * wait for a commit it will not make), its update committed and agreed
   * without it, its replica at the end of the round before.
   */
  leaveAtRoundBoundary(): Promise<void> {
    if (!this.wantJoin) return Promise.resolve();
    const s = this.server;
    const inFlight = [s?.round, s?.witnessing].some((r) => r?.slots.includes(this.id));
    const inRound = inFlight && s?.clients[this.id]?.status === 'member' && (s.phase === 'RoundTrain' || s.phase === 'RoundWitness');
    if (!inRound) {
      this.leave();
      return Promise.resolve();
    }
    if (!this.leaving) {
      let resolve = () => {};
      const done = new Promise<void>((r) => (resolve = r));
      this.leaving = { done, resolve };
    }
    return this.leaving.done;
  }

  /** This tab's parameters as a safetensors checkpoint, read between the GPU work of rounds (Try the model uses it). */
  exportParams(): Promise<Uint8Array> {
    return new Promise((resolve, reject) =>
      this.chain.enqueue(async () => {
        if (!this.replica.loaded) return reject(new Error('this tab holds no parameters yet: contribute first'));
        await this.opts.worker.request<'export'>({ type: 'export' }).then(({ bytes }) => resolve(bytes), reject);
      }),
    );
  }

  setDuty(duty: number): void {
    this.opts.worker.setDuty(duty);
  }

  state(): RunView {
    return this.view.current;
  }

  subscribe(fn: () => void): () => void {
    return this.view.subscribe(fn);
  }

  private fail(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`run client: ${message}`);
    this.view.update({ status: 'error', error: message });
  }

  private receive(msg: RunMessage): void {
    switch (msg.type) {
      case 'welcome':
        return this.welcome(msg);
      case 'state':
        this.server = msg.state;
        this.duties.onState();
        this.gossip.onState();
        this.view.update({});
        this.duties.sendUpdate();
        return this.duties.maybeWitness();
      case 'round':
        return this.round(msg.round);
      case 'phase':
        this.view.current.timeline = appendBounded(this.view.current.timeline, { step: msg.step, phase: msg.to, at: Date.now() }, TIMELINE_MAX);
        this.view.update({});
        // An epoch ended at msg.step: after the chain has applied its last round, this tab may owe the checkpoint.
        if (msg.to === 'Cooldown') this.chain.enqueue(() => this.duties.uploadCheckpoint(msg.step));
        return this.duties.maybeWitness();
      case 'agreed':
        this.chain.enqueue(() => this.duties.applyAgreed(msg));
        // Pipelined, the agreed set of the round before this tab's last one comes first: leave after its own.
        if (this.leaving && msg.step >= (this.duties.lastUpdate?.step ?? -1)) this.chain.enqueue(async () => this.leave());
        return;
      case 'resync':
        if (!this.wantJoin) return;
        console.warn(`run client: checksum ${this.replica.checksum} disagrees with the majority ${msg.checksum} at step ${msg.step}; resyncing`);
        this.replica.forget();
        return this.chain.enqueue(() => this.catchUp());
      case 'points':
        if (msg.clientId === this.id) this.view.update({ points: msg.total });
        return;
      case 'signal':
        this.mesh?.onSignal(msg.from, msg.data);
        return;
      case 'error':
        console.warn(`coordinator: ${msg.code}: ${msg.message}`);
        if (msg.code === 'dropped' && this.wantJoin) this.chain.enqueue(() => this.sendJoin());
        if (msg.code === 'ejected') {
          // Final: the coordinator refuses this key from now on.
          this.wantJoin = false;
          this.duties.stop();
          this.socket.close();
          this.mesh?.destroy();
          this.mesh = null;
          this.leaving?.resolve();
          this.leaving = null;
          this.view.update({ status: 'error', error: `ejected from the run: ${msg.message}`, peers: [] });
        }
        return;
      case 'ack':
        if (msg.of === 'commit') this.duties.offerToPeers(msg.step);
        return;
      case 'uploadUrl':
        void this.payloads.upload(msg, this.duties.lastUpdate);
        return;
      case 'payloadUrl':
        void this.payloads.download(msg);
        return;
      case 'hello':
        return;
    }
  }

  private welcome(msg: RunMessageOf<'welcome'>): void {
    this.payloads.kind = msg.payloadStore ?? 'relay';
    this.config = msg.config;
    this.server = msg.state;
    this.duties.onState();
    this.gossip.onState();
    if (!this.mesh) this.mesh = this.createMesh();
    this.view.update({ clientId: msg.clientId });
    this.chain.enqueue(async () => {
      if (!this.wantJoin) return;
      if (!this.replica.loaded) await this.catchUp();
      else await this.replica.replayTo(msg.state.step);
      await this.sendJoin();
      this.duties.sendUpdate(true);
      this.duties.maybeWitness();
    });
  }

  private createMesh(): PeerMesh {
    const mesh = new PeerMesh({
      localId: this.id,
      sendSignal: (to, data) => this.socket.send({ type: 'signal', to, data: data as never }),
      createPeer: this.opts.createPeer,
      admit: (peer) => this.topology.admits(peer),
    });
    mesh.on('payload', (from, hash, bytes) => {
      this.meshBytesReceived += bytes.length;
      this.gotPayload(hash, bytes, from);
    });
    mesh.on('message', (from, message) => this.gossip.onMessage(from, message));
    mesh.on('state', (peer, state) => {
      this.gossip.onPeerState(peer, state);
      this.view.update({});
    });
    mesh.on('error', (e) => console.warn(`peer mesh: ${e.message}`));
    return mesh;
  }

  /** Catches the replica up, unless the client has left meanwhile (a resync or welcome queued before the leave). */
  private async catchUp(): Promise<void> {
    if (!this.wantJoin) return;
    try {
      await this.replica.catchUp(this.gpuMemory);
    } catch (err) {
      if (err instanceof ModelDoesNotFit) this.wantJoin = false;
      throw err;
    }
    if (!this.wantJoin && this.view.current.status === 'catching-up') this.view.update({ status: 'left' });
  }

  private async sendJoin(): Promise<void> {
    // Left while catching up: the status says so, and nothing is sent.
    if (!this.wantJoin) return;
    // Back after a reconnect while a leave was pending: the round it waited for is lost, so leave now.
    if (this.leaving) return this.leave();
    const me = this.server?.clients[this.id];
    if (me?.status === 'member' || me?.status === 'joining') {
      this.view.update({ status: me?.status === 'member' ? 'training' : 'joining' });
      return;
    }
    this.socket.send({ type: 'join' });
    this.view.update({ status: 'joining' });
  }

  private round(round: Round): void {
    this.inbox.prune(round.step);
    const slot = round.slots.indexOf(this.id);
    this.topology.apply(round);
    this.view.update({ status: slot >= 0 ? 'training' : this.view.current.status });
    if (slot < 0) return;
    // Leaving: a round that began after the boundary is not trained, and the run must not wait for it.
    // Pipelined, this tab's own round is then still witnessed: its update is committed and is agreed without it.
    if (this.leaving) return this.chain.enqueue(async () => this.leave());
    // A time box runs from the round's arrival: GPU work still queued before the training shortens it, not the round.
    const box = this.config?.trainTimeBox ?? 0;
    const until = box > 0 ? Date.now() + box : undefined;
    this.chain.enqueue(() => this.duties.train(round, slot, until));
  }

  /** `from`: the peer's id, or the payload store. */
  private gotPayload(hash: string, bytes: Uint8Array, from: string | 'relay' | 'bucket'): void {
    this.gossip.receive(hash, bytes, from);
  }

  private need(): RunConfig {
    if (!this.config) throw new Error('not connected to a coordinator yet');
    return this.config;
  }
}
