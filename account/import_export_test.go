package account

import "github.com/airlockhq/airlock"

// WrapStore has the service use wrap(its store) from now on: a test puts
// another node's write between two of the service's own queries.
func (s *Service) WrapStore(wrap func(airlock.Store) airlock.Store) { s.store = wrap(s.store) }
