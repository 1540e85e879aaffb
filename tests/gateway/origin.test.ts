// Which Origin headers may open a WebSocket: none, a configured one, or the gateway's own host; nothing else.
import { isOriginAllowed } from '../../gateway/server/origin';

const ALLOWED = ['https://app.example.com'];

describe('isOriginAllowed', () => {
  it('accepts a request without Origin (a program, not a browser page)', () => {
    expect(isOriginAllowed(undefined, 'gw.example.com', ALLOWED, 'https:')).toBe(true);
  });

  it('accepts an Origin listed in the allowed origins', () => {
    expect(isOriginAllowed('https://app.example.com', 'gw.example.com', ALLOWED, 'https:')).toBe(true);
  });

  it('accepts the gateway’s own host as Origin when the scheme is the request’s too', () => {
    expect(isOriginAllowed('http://gw.example.com:8080', 'gw.example.com:8080', ALLOWED, 'http:')).toBe(true);
    expect(isOriginAllowed('https://gw.example.com', 'gw.example.com', ALLOWED, 'https:')).toBe(true);
    expect(isOriginAllowed('https://gw.example.com', 'GW.Example.com:443', ALLOWED, 'https:')).toBe(true);
  });

  it('refuses the gateway’s own host over the other scheme: an http page calling the https gateway, and back', () => {
    expect(isOriginAllowed('http://gw.example.com', 'gw.example.com', ALLOWED, 'https:')).toBe(false);
    expect(isOriginAllowed('https://gw.example.com', 'gw.example.com', ALLOWED, 'http:')).toBe(false);
    expect(isOriginAllowed('http://gw.example.com:8080', 'gw.example.com:8080', ALLOWED, 'https:')).toBe(
      false,
    );
  });

  it('refuses another site, another port of the same host, and a look-alike of an allowed origin', () => {
    expect(isOriginAllowed('https://evil.example', 'gw.example.com', ALLOWED, 'https:')).toBe(false);
    expect(isOriginAllowed('http://gw.example.com:9999', 'gw.example.com:8080', ALLOWED, 'https:')).toBe(
      false,
    );
    expect(isOriginAllowed('https://app.example.com.evil.example', 'gw.example.com', ALLOWED, 'https:')).toBe(
      false,
    );
    expect(isOriginAllowed('http://app.example.com', 'gw.example.com', ALLOWED, 'https:')).toBe(false);
  });

  it('refuses the opaque origin "null", non-web schemes and garbage', () => {
    expect(isOriginAllowed('null', 'gw.example.com', ALLOWED, 'https:')).toBe(false);
    expect(isOriginAllowed('file://', 'gw.example.com', ALLOWED, 'https:')).toBe(false);
    expect(isOriginAllowed('chrome-extension://abc', 'abc', ALLOWED, 'https:')).toBe(false);
    expect(isOriginAllowed('not a url', 'gw.example.com', ALLOWED, 'https:')).toBe(false);
  });

  it('refuses when the Host header is missing or is not a plain host', () => {
    expect(isOriginAllowed('https://gw.example.com', undefined, ALLOWED, 'https:')).toBe(false);
    expect(isOriginAllowed('https://gw.example.com', 'gw.example.com/path', ALLOWED, 'https:')).toBe(false);
    expect(isOriginAllowed('https://gw.example.com', 'user@gw.example.com', ALLOWED, 'https:')).toBe(false);
  });
});
