import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { installDevtools } from './devtools/tessera';
import { App } from './app/App';

installDevtools();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
