export function App() {
  return <h1>Tessera</h1>;
}
