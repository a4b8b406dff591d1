/**
 * The shell: header, hash-routed tabs and the WebGPU gate. Pages stay mounted
 * once visited (only hidden) so a training run or a batch of kernel checks
 * keeps going while the user looks at another tab.
 */
import { lazy, Suspense, useEffect, useState, type ReactNode } from 'react';
// The wallet modal's stylesheet @imports a web font. Loaded with the app rather than with the lazy Rewards chunk:
// offline that @import fails, and a failed stylesheet makes a lazy chunk's import fail with it.
import '@solana/wallet-adapter-react-ui/styles.css';
import './styles.css';
import { WebGpuHelp, WebGpuPending } from './gpu/WebGpuHelp';
import { useGpuGate, useGpuLost, type GpuGate } from './gpu/useGpuGate';
import { ContributePage } from './contribute/ContributePage';
import { KernelLab } from './kernel-lab/KernelLab';
import { ModelPage } from './model/ModelPage';
import { NetworkPage } from './network/NetworkPage';
import { TrainPage } from './train/TrainPage';
import { ROUTES, routeHref, useHashRoute, type Route } from './useHashRoute';

interface PageDef {
  title: string;
  needsGpu: boolean;
  render: () => ReactNode;
}

// The wallet adapter's code loads only when Rewards is opened.
const RewardsPage = lazy(() => import('./rewards/RewardsPage').then((m) => ({ default: m.RewardsPage })));

const PAGES: Record<Route, PageDef> = {
  contribute: { title: 'Contribute', needsGpu: true, render: () => <ContributePage /> },
  network: { title: 'Network', needsGpu: false, render: () => <NetworkPage /> },
  rewards: {
    title: 'Rewards',
    needsGpu: false,
    render: () => (
      <Suspense fallback={<p className="muted">Loading…</p>}>
        <RewardsPage />
      </Suspense>
    ),
  },
  train: { title: 'Train solo', needsGpu: true, render: () => <TrainPage /> },
  lab: { title: 'Kernel Lab', needsGpu: true, render: () => <KernelLab /> },
  model: { title: 'Model', needsGpu: false, render: () => <ModelPage /> },
};

export function App() {
  const route = useHashRoute();
  const gate = useGpuGate();
  const visited = useVisited(route);

  useEffect(() => {
    document.title = `${PAGES[route].title} · Tessera`;
  }, [route]);

  return (
    <>
      <Header route={route} gate={gate} />
      <GpuLostBanner />
      <main className="app-main">
        {ROUTES.filter((r) => visited.has(r)).map((r) => (
          <div key={r} hidden={r !== route} data-testid={`page-${r}`}>
            <GatedPage page={PAGES[r]} gate={gate} />
          </div>
        ))}
      </main>
    </>
  );
}

function useVisited(route: Route): Set<Route> {
  const [visited, setVisited] = useState<Set<Route>>(() => new Set([route]));
  if (!visited.has(route)) setVisited(new Set(visited).add(route)); // adjust during render, no extra effect pass
  return visited;
}

function Header({ route, gate }: { route: Route; gate: GpuGate }) {
  return (
    <header className="app-header">
      <div className="app-header-inner">
        <div className="brand">
          <h1 className="brand-name">
            <span className="logo" aria-hidden="true">
              ◆
            </span>
            Tessera
          </h1>
          <p className="brand-tagline">Train a shared language model together, each volunteer on their own browser tab's GPU.</p>
        </div>
        <GpuChip gate={gate} />
        <nav className="tabs" aria-label="Pages">
          {ROUTES.map((r) => (
            <a key={r} className="tab" href={routeHref(r)} aria-current={r === route ? 'page' : undefined} data-testid={`tab-${r}`}>
              {PAGES[r].title}
            </a>
          ))}
        </nav>
      </div>
    </header>
  );
}

function GpuChip({ gate }: { gate: GpuGate }) {
  const text = gate.state === 'ready' ? gate.adapter : gate.state === 'pending' ? 'Checking WebGPU…' : 'WebGPU unavailable';
  return (
    <span className="gpu-chip" data-state={gate.state} data-testid="gpu-chip" title={text}>
      {text}
    </span>
  );
}

function GpuLostBanner() {
  const [message, dismiss] = useGpuLost();
  if (!message) return null;
  return (
    <div className="banner" role="alert" data-testid="gpu-lost-banner">
      <div className="banner-inner">
        <p>{message}</p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
        <button type="button" onClick={dismiss} aria-label="Dismiss">
          ✕
        </button>
      </div>
    </div>
  );
}

function GatedPage({ page, gate }: { page: PageDef; gate: GpuGate }) {
  if (!page.needsGpu || gate.state === 'ready') return <>{page.render()}</>;
  if (gate.state === 'pending') return <WebGpuPending />;
  return <WebGpuHelp gate={gate} page={page.title} />;
}
